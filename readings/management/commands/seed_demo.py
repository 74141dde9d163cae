"""python manage.py seed_demo [--if-empty] [--accounts N]

Demo data for a development portal: staff logins for each role, a resident with three
accounts, and accounts with 1-, 2- and 3-zone meters and two years of monthly readings,
all written through the same services the channels use. It prints the logins and a few
account / meter pairs nobody has linked, every time: `make run` runs it with --if-empty.
"""

import datetime as dt
import random

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from accounts.linking import account_link
from accounts.masterdata import MasterDataRow, master_data_import, meter_replace
from accounts.models import Meter, PersonalAccount, User
from accounts.users import user_register
from readings import selectors
from readings.models import Reading
from readings.services import reading_submit
from readings.window import Window, add_months, first_of_month

DEMO_PASSWORD = "pokaznyk-demo"  # noqa: S105 - printed for the developer; the command is refused without DEBUG
RESIDENT_EMAIL = "resident@example.com"
# The staff logins, one per way of working in admin: (username, role group or None for a superuser, what it may do).
STAFF = (
    ("admin", None, "superuser: every permission"),
    ("operator", "operator", "role operator: reads everything, reviews readings, removes account links"),
    (
        "supervisor",
        "supervisor",
        "role supervisor: also the calendar, master data uploads, billing export, meter replacement, "
        "announcements, staff API tokens",
    ),
)
PAIRS_PER_KIND = 2
HISTORY_MONTHS = 24
STREETS = ("вул. Соборна", "просп. Незалежності", "вул. Перемоги", "вул. Гоголя", "бул. Шевченка")
ZONE_SHARES = {1: (1.0,), 2: (0.62, 0.38), 3: (0.27, 0.45, 0.28)}
CHANNELS = (Reading.Channel.TELEGRAM, Reading.Channel.WEB, Reading.Channel.API, Reading.Channel.PHONE)


class Command(BaseCommand):
    help = "Create demo staff logins, a resident and accounts with two years of readings, and print the logins."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="add no demo data when any account exists (the logins and pairs are still printed)",
        )
        parser.add_argument("--accounts", type=int, default=50, help="how many accounts (default 50)")
        parser.add_argument("--force", action="store_true", help="seed even with DEBUG off")

    def handle(self, *args, if_empty: bool, accounts: int, force: bool, **options) -> None:
        if not (settings.DEBUG or force):
            raise CommandError("seed_demo creates users with a known password: run it with DJANGO_DEBUG=1.")
        if not 1 <= accounts <= 10_000:
            raise CommandError("--accounts: use a number from 1 to 10000.")
        if if_empty and PersonalAccount.objects.exists():
            self.stdout.write("The database already has accounts; demo data not added.")
            if not User.objects.filter(username=RESIDENT_EMAIL).exists():
                self.stdout.write("It was not made by seed_demo: it has no demo logins to print.")
                return
            # A database seeded before the role logins existed gets them now.
            self._staff_users()
            self._print_logins()
            return
        rng = random.Random(2026)  # noqa: S311 - repeatable demo data, not secrets
        today = timezone.localdate()
        windows = _closed_windows(today)
        rows = [_account_row(n, rng) for n in range(accounts)]
        master_data_import(rows=rows)
        submitted = _replace_one_meter(rows[0], rng, windows, today)
        submitted += sum(_history(meter, rng, windows) for meter in Meter.objects.filter(is_active=True))
        self._staff_users()
        self._resident(rows)
        self.stdout.write(self.style.SUCCESS(f"Demo data: {len(rows)} accounts, {submitted} readings."))
        self._print_logins()

    def _staff_users(self) -> None:
        # Staff logins are Django's own users and groups (accounts/roles.py), no domain data:
        # made the way admin's "add user" makes them.
        for username, role, _can in STAFF:
            if User.objects.filter(username=username).exists():
                continue
            if role is None:
                User.objects.create_superuser(username, f"{username}@example.com", DEMO_PASSWORD)
            else:
                user = User.objects.create_user(username, f"{username}@example.com", DEMO_PASSWORD, is_staff=True)
                user.groups.add(Group.objects.get(name=role))

    def _resident(self, rows: list[MasterDataRow]) -> None:
        """A cabinet user with a 1-, a 2- and a 3-zone account, linked as a resident would link them."""
        if User.objects.filter(username=RESIDENT_EMAIL).exists():
            return
        user = user_register(email=RESIDENT_EMAIL, password=DEMO_PASSWORD)
        for row in rows[0:5:2]:  # 1-zone (its meter was replaced), 2-zone, 3-zone
            meter = Meter.objects.filter(account__number=row.account_number, is_active=True).first()
            account_link(user=user, account_number=row.account_number, meter_serial=meter.serial)

    def _print_logins(self) -> None:
        portal = settings.PORTAL_URL
        self.stdout.write(f"Cabinet: {portal}/  login {RESIDENT_EMAIL} / {DEMO_PASSWORD}")
        self.stdout.write(f"Admin: {portal}/admin/  logins:")
        for username, _role, can in STAFF:
            if User.objects.filter(username=username).exists():
                self.stdout.write(f"  {username} / {DEMO_PASSWORD}  ({can})")
        pairs = _unlinked_pairs()
        if not pairs:
            self.stdout.write("Every demo account is linked to someone: no account / meter pair left to try.")
            return
        self.stdout.write(
            'Account / meter pairs nobody has linked, for "Add account" in the cabinet or a bot '
            f"and for the form without sign-up ({portal}/quick/):"
        )
        for meter, last in pairs:
            kind = f"{meter.zones}-zone, last reading {last.values_text if last else 'none'}"
            self.stdout.write(f"  {meter.account.number} / {meter.serial}  ({kind}, {meter.account.address})")


def _unlinked_pairs() -> list[tuple[Meter, Reading | None]]:
    """Up to PAIRS_PER_KIND active meters of each kind whose account no one has linked, with their last
    accepted reading: linking them or sending a reading for them works, whatever the developer did before."""
    pairs = []
    for zones in (1, 2, 3):
        meters = (
            Meter.objects.filter(is_active=True, zones=zones, account__links__isnull=True)
            .select_related("account")
            .order_by("account__number", "serial")[:PAIRS_PER_KIND]
        )
        for meter in meters:
            last = Reading.objects.filter(meter=meter, status=Reading.Status.ACCEPTED).order_by("-period").first()
            pairs.append((meter, last))
    return pairs


def _closed_windows(today: dt.date) -> list[Window]:
    """The last HISTORY_MONTHS windows that closed before today, oldest first."""
    periods = (add_months(first_of_month(today), -months) for months in range(HISTORY_MONTHS + 2))
    closed = [window for window in map(selectors.window_for_period, periods) if window.closes < today]
    return closed[:HISTORY_MONTHS][::-1]


def _account_row(n: int, rng: random.Random) -> MasterDataRow:
    zones = (1, 1, 2, 2, 3)[n % 5]
    digits = rng.choice((5, 6, 6, 7)) if zones == 1 else 6
    return MasterDataRow(
        account_number=f"{300000000 + n * 7919 % 1000000:09d}",
        meter_serial=f"{('NIK', 'GAMA', 'MTX')[zones - 1]}{rng.randrange(10**7):07d}",
        zones=zones,
        digits=digits,
        address=f"{STREETS[n % len(STREETS)]}, {n % 97 + 1}, кв. {n % 60 + 1}",
        holder_name=f"Мешканець {n + 1}",
        eic=f"62Z{n:012d}X",
        initial_values=tuple(rng.randrange(1000, 20000) for _ in range(zones)),
    )


def _replace_one_meter(row: MasterDataRow, rng: random.Random, windows: list[Window], today: dt.date) -> int:
    """One account shows a meter replacement: the old meter stays, with its readings."""
    meter = Meter.objects.get(account__number=row.account_number, serial=row.meter_serial)
    replaced_on = today - dt.timedelta(days=8 * 30)
    submitted = _history(meter, rng, [window for window in windows if window.closes < replaced_on])
    meter_replace(
        meter=meter,
        new_serial=f"{row.meter_serial}N",
        zones=row.zones,
        digits=row.digits,
        initial_values=[0] * row.zones,
        replaced_on=replaced_on,
    )
    return submitted


def _history(meter: Meter, rng: random.Random, windows: list[Window]) -> int:
    """A reading on the first day of each of `windows` since the meter was installed."""
    values = list(meter.initial_values)
    base_use = rng.randrange(120, 380)
    count = 0
    for window in windows:
        if meter.installed_on and window.opens <= meter.installed_on:
            continue
        winter = 1.4 if window.period.month in (12, 1, 2) else 1.0
        use = base_use * winter * rng.uniform(0.8, 1.2)
        values = [v + round(use * share) for v, share in zip(values, ZONE_SHARES[meter.zones], strict=True)]
        reading_submit(
            meter=meter,
            values=values,
            channel=rng.choice(CHANNELS),
            submitted_at=timezone.make_aware(dt.datetime.combine(window.opens, dt.time(10, rng.randrange(60)))),
        )
        count += 1
    return count
