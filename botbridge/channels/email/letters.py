"""What the email channel says: window reminders and review decisions as emails.

A delivery's text is the whole email, its subject on the first line and the body after a blank
line (compose / split): the sender and the delivery rows stay the same for every channel, and
staff read the subject with the rest in admin. Plain text in the resident's language, with the
links a bot's menu gives in a chat: the cabinet, and the settings that stop the reminders.
"""

from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from botbridge.texts import day
from readings.models import Reading
from readings.periods import period_label
from readings.states import receipt_line
from readings.window import Window


def compose(subject: str, body: str) -> str:
    # A line break in a subject would start a header of its own: one line, always.
    return " ".join(subject.split()) + "\n\n" + body


def split(text: str) -> tuple[str, str]:
    subject, _blank, body = text.partition("\n\n")
    return subject, body


def cabinet_url(name: str = "dashboard", **kwargs: str) -> str:
    return settings.PORTAL_URL + reverse(name, kwargs=kwargs or None)


def reminder_window_opens(window: Window, numbers: Sequence[str]) -> str:
    subject = _("Meter readings: send yours by {closes}").format(closes=day(window.closes))
    lines = ngettext(
        "Readings are accepted from {opens} to {closes}: send the reading of your meter for account {accounts}.",
        "Readings are accepted from {opens} to {closes}: send the readings of your meters for accounts {accounts}.",
        len(numbers),
    ).format(opens=day(window.opens), closes=day(window.closes), accounts=", ".join(numbers))
    return compose(subject, _reminder_body(window, lines))


def reminder_last_day(window: Window, numbers: Sequence[str]) -> str:
    subject = _("Today, {closes}, is the last day to send meter readings").format(closes=day(window.closes))
    lines = ngettext(
        "Today, {closes}, is the last day to send readings, and there is none yet for account {accounts}. "
        "A reading sent later counts only as a control reading.",
        "Today, {closes}, is the last day to send readings, and there are none yet for accounts {accounts}. "
        "A reading sent later counts only as a control reading.",
        len(numbers),
    ).format(closes=day(window.closes), accounts=", ".join(numbers))
    return compose(subject, _reminder_body(window, lines))


def _reminder_body(window: Window, lines: str) -> str:
    return "\n\n".join(
        [
            capfirst(period_label(window.period)) + ".",
            lines,
            _("Send it in the cabinet: {url}").format(url=cabinet_url()),
            "-- \n"
            + _(
                "You get this email because reminders by email are on in your Pokaznyk cabinet. "
                "To stop them, turn them off in Settings: {url}"
            ).format(url=cabinet_url("settings")),
        ]
    )


def review_outcome(reading: Reading) -> str:
    details = {
        "values": reading.values_text,
        "period": period_label(reading.period),
        "number": reading.meter.account.number,
    }
    account_url = cabinet_url("account", number=reading.meter.account.number)
    if reading.status == Reading.Status.ACCEPTED:
        subject = _("Your reading {values} is accepted").format(**details)
        told = _("Staff checked your reading {values}, {period} (account {number}): it is accepted.").format(**details)
        next_step = _("The account in the cabinet: {url}").format(url=account_url)
    else:
        subject = _("Your reading {values} is rejected: send it again").format(**details)
        told = _("Staff checked your reading {values}, {period} (account {number}) and rejected it: {reason}").format(
            reason=reading.review_note, **details
        )
        next_step = _("Check the meter and send the reading again in the cabinet: {url}").format(url=account_url)
    footer = "-- \n" + _(
        "You get this email because you sent this reading to Pokaznyk. Where reminders and notices go: {url}"
    ).format(url=cabinet_url("settings"))
    return compose(subject, "\n\n".join([told, receipt_line(reading) + ".", next_step, footer]))
