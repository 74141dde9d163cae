"""python manage.py window [YYYY-MM-DD] [--json]"""

import datetime as dt
import json

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.errors import DomainError
from readings import selectors


class Command(BaseCommand):
    help = (
        "Show the submission window that contains DATE, or the next one if DATE is outside every window "
        "(default: today, Kyiv time)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("date", nargs="?", help="YYYY-MM-DD")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON object")

    def handle(self, *args, date: str | None, as_json: bool, **options) -> None:
        day = _parse_date(date) if date else timezone.localdate()
        try:
            window = selectors.window_on(day)
        except DomainError as refusal:
            raise CommandError(refusal.message) from None
        if as_json:
            self.stdout.write(json.dumps(window.status_on(day)))
            return
        state = "open" if window.contains(day) else "closed"
        self.stdout.write(
            f"{day:%Y-%m-%d}: window for period {window.period:%Y-%m-%d} is {window.opens:%Y-%m-%d} … "
            f"{window.closes:%Y-%m-%d} ({state} on {day:%Y-%m-%d})"
        )


def _parse_date(raw: str) -> dt.date:
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise CommandError(f"{raw!r} is not a date: use YYYY-MM-DD, e.g. 2026-11-24.") from None
