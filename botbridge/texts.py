"""Everything the bot says, in one place and through gettext (Ukrainian first).

Functions here turn plain data into message text; they never touch the database.
Replies are plain text (no parse mode), so nothing a resident typed can turn into
markup.
"""

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

from django.conf import settings
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from accounts.masking import mask_address
from readings.labels import METER_KINDS, ZONE_NAMES
from readings.models import Reading
from readings.parsing import reading_example
from readings.periods import period_label
from readings.states import ReadingState, receipt_line, replaces_line
from readings.window import Window

# The seed's reply keyboard, word for word.
MENU_ADD = pgettext_lazy("bot button", "Add personal account")
MENU_ACCOUNTS = pgettext_lazy("bot button", "My personal accounts")
MENU_HELP = pgettext_lazy("bot button", "Help")
MENU_SIGNIN = pgettext_lazy("bot button", "Sign in to the cabinet")
CANCEL = pgettext_lazy("bot button", "Cancel")
BACK = pgettext_lazy("bot button", "« Back")
YES = pgettext_lazy("bot button", "Yes")
NO = pgettext_lazy("bot button", "No")
HISTORY = pgettext_lazy("bot button", "Last readings")
REMINDERS_ON = pgettext_lazy("bot button", "Reminders: on")
REMINDERS_OFF = pgettext_lazy("bot button", "Reminders: off")
UNLINK = pgettext_lazy("bot button", "Remove account")
UNLINK_YES = pgettext_lazy("bot button", "Yes, remove")
SUBMIT_FOR = pgettext_lazy("bot button", "Send reading: {serial}")

COMMANDS = {
    "start": gettext_lazy("Start"),
    "accounts": gettext_lazy("My personal accounts"),
    "help": gettext_lazy("How to send readings"),
    "cancel": gettext_lazy("Cancel the current step"),
    "login": gettext_lazy("A link to sign in to the web cabinet"),
}


def language_of(language_code: str | None) -> str:
    """English for English-speaking Telegram users, Ukrainian for everyone else."""
    return "en" if (language_code or "").lower().startswith("en") else "uk"


def in_every_language(text: object) -> set[str]:
    """A label as every supported language shows it: a button works whatever language drew it."""
    variants = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            variants.add(str(text))
    return variants


def day(date: dt.date) -> str:
    return f"{date:%d.%m.%Y}"


def span(window: Window) -> str:
    return f"{window.opens:%d.%m}–{day(window.closes)}"


def greeting(first_name: str) -> str:
    return _(
        "Hello, {name}! I take electricity meter readings for the company.\n\n"
        "Add your personal account once (its number and the serial of the meter), "
        "then send readings whenever the window is open. Use the buttons below."
    ).format(name=first_name or _("neighbour"))


def main_menu() -> str:
    return _("Main menu. Choose an action with the buttons below.")


def cancelled() -> str:
    return _("Cancelled. Choose an action with the buttons below.")


def ask_account_number() -> str:
    return _("Enter your personal account number: the digits from your electricity bill.")


def ask_meter_serial(number: str) -> str:
    return _(
        "Account {number}. Now enter the serial number of the meter: it is printed on the meter itself "
        "(the factory number)."
    ).format(number=number)


def retry_account_number() -> str:
    return _("Enter the account number again, or press “{cancel}”.").format(cancel=CANCEL)


def retry_meter_serial() -> str:
    return _("Enter the meter serial again, or press “{cancel}”.").format(cancel=CANCEL)


def linked(number: str, address: str) -> str:
    return _("Done: account {number} is added ({address}).\nOpen “{accounts}” to send a reading.").format(
        number=number, address=mask_address(address) or _("no address on file"), accounts=MENU_ACCOUNTS
    )


def no_accounts() -> str:
    return _("You have no accounts yet. Press “{add}” to add one.").format(add=MENU_ADD)


def choose_account() -> str:
    return _("Choose a personal account:")


def window_line(window: Window, today: dt.date) -> str:
    """When readings are taken, and which: "показання на 01.12.2026 — споживання за листопад 2026"."""
    taken = capfirst(period_label(window.period)) + "."
    if window.contains(today):
        left = window.days_left(today)
        return (
            ngettext(
                "Readings are accepted until {closes} ({count} day left).",
                "Readings are accepted until {closes} ({count} days left).",
                left,
            ).format(closes=day(window.closes), count=left)
            + f"\n{taken}"
        )
    return _("Readings are not accepted now. The next window: {span}.").format(span=span(window)) + f"\n{taken}"


def meter_line(meter, last: Reading | None, state: ReadingState | None = None) -> str:
    """The meter, what became of its latest reading of the window (first), and its last accepted one."""
    lines = [
        _("Meter {serial}: {kind}, {digits} digits.").format(
            serial=meter.serial, kind=METER_KINDS[meter.zones], digits=meter.digits
        )
    ]
    if state is not None:
        lines.append(state_lines(state))
    if last is None:
        lines.append(_("No accepted readings yet."))
    elif state is None or state.reading.pk != last.pk:
        lines.append(
            _("Last accepted reading: {values}, {period} (sent {sent}).").format(
                values=last.values_text, period=period_label(last.period), sent=day(last.submitted_at.date())
            )
        )
    return "\n".join(lines)


def state_lines(state: ReadingState) -> str:
    """A reading of the window: its value, what became of it, its receipt, and what to do next."""
    lines = [
        _("Latest reading sent: {values}, {sent}. {state} {receipt}.").format(
            values=state.reading.values_text,
            sent=day(timezone.localdate(state.reading.submitted_at)),
            state=state.text,
            receipt=state.receipt,
        )
    ]
    if state.next_step:
        lines.append(state.next_step)
    return "\n".join(lines)


def account_card(overview) -> str:
    lines = [
        _("Personal account {number}").format(number=overview.account.number),
        mask_address(overview.account.address),
        *(meter_line(meter, last, overview.states.get(meter.pk)) for meter, last in overview.meters),
        window_line(overview.window, overview.today),
    ]
    if not overview.meters:
        lines.append(_("The account has no active meter; call the contact centre."))
    return "\n".join(line for line in lines if line)


def ask_reading(zones: int) -> str:
    formats = {
        1: _("one number, for example {example}"),
        2: _("day/night, for example {example}"),
        3: _("peak/half-peak/night, for example {example}"),
    }
    return _("Send the reading as {format}. Whole kWh only, no digits after the comma.").format(
        format=formats[zones].format(example=reading_example(zones))
    )


def choose_meter() -> str:
    return _("The account has several meters. Which one is the reading for?")


def confirm_question(message: str) -> str:
    return message + "\n\n" + _("Is the reading right?")


def confirm_declined(zones: int) -> str:
    return _("All right, nothing was saved.") + " " + ask_reading(zones)


def recorded(reading: Reading, cost: Decimal | None, next_window: Window) -> str:
    shown = reading.values_text
    if reading.status == Reading.Status.CONTROL:
        control = _(
            "The window is closed now, so the reading {values} is kept as a control reading; "
            "it does not count for the month.\nThe next window: {span}."
        ).format(values=shown, span=span(next_window))
        return "\n".join([control, *receipt_lines(reading)])
    if reading.status == Reading.Status.NEEDS_REVIEW:
        head = _("Saved and passed to staff for a check: {values}.").format(values=shown)
    else:
        head = _("Reading accepted: {values}.").format(values=shown)
    lines = [head, _("It is the {period}.").format(period=period_label(reading.period))]
    if reading.consumption is not None:
        used = ", ".join(
            _("{zone} {kwh} kWh").format(zone=zone, kwh=kwh)
            for zone, kwh in zip(ZONE_NAMES[len(reading.values)], reading.consumption, strict=True)
        )
        lines.append(_("Consumption: {used}.").format(used=used))
    if cost is not None:
        lines.append(_("Estimated cost: {cost} UAH (an estimate, not a bill).").format(cost=number_format(cost, 2)))
    return "\n".join([*lines, *receipt_lines(reading)])


def receipt_lines(reading: Reading) -> list[str]:
    """The receipt to quote, and the earlier reading of the window this one replaced."""
    lines = [receipt_line(reading) + ". " + _("Quote it to the contact centre if you ask about this reading.")]
    if reading.replaces is not None:
        lines.append(replaces_line(reading.replaces))
    return lines


def history(number: str, states: Sequence[ReadingState]) -> str:
    if not states:
        return _("Account {number} has no readings yet.").format(number=number)
    lines = [_("Last readings of account {number}:").format(number=number)]
    # Grouped by the consumption month each reading closes, newest first.
    for period in sorted({state.reading.period for state in states}, reverse=True):
        lines.append("")
        lines.append(f"{capfirst(period_label(period))}:")
        lines.extend(
            f"{day(timezone.localdate(state.reading.submitted_at))} · {state.reading.values_text} · "
            f"{state.text.removesuffix('.')} · {state.reading.get_channel_display()} · {state.receipt}"
            for state in states
            if state.reading.period == period
        )
    return "\n".join(lines)


def reminders(enabled: bool, number: str) -> str:
    if enabled:
        return _("Reminders for account {number} are on.").format(number=number)
    return _("Reminders for account {number} are off.").format(number=number)


def unlink_question(number: str) -> str:
    return _("Remove account {number} from your list? Readings already sent stay with the company.").format(
        number=number
    )


def unlinked(number: str) -> str:
    return _("Account {number} is removed from your list.").format(number=number)


def help_text(window: Window, today: dt.date) -> str:
    contacts = "\n".join(settings.COMPANY_CONTACTS)
    return "\n".join(
        [
            _("How to send readings"),
            "",
            _(
                "1. Add your personal account once: “{add}”, then the account number from the bill and the "
                "serial number printed on the meter."
            ).format(add=MENU_ADD),
            _("2. Open “{accounts}”, choose the account and send the numbers from the display.").format(
                accounts=MENU_ACCOUNTS
            ),
            "",
            _(
                "Formats: single-zone 12345; two-zone 1111/2222 (day/night); "
                "three-zone 1111/2222/3333 (peak/half-peak/night)."
            ),
            _(
                "Send whole kWh only: leave out the digits after the comma (usually in another colour). "
                "On a zoned meter send each zone, never the total (T0, 1.8.0)."
            ),
            "",
            _(
                "Readings are accepted on the last two working days of a month and the first three of the next. "
                "A reading counts as of the 1st and closes the month before: the reading as of 01.12 is the "
                "consumption for November."
            ),
            window_line(window, today),
            "",
            _("Contact centre:"),
            contacts,
        ]
    )


def unknown_text() -> str:
    return _("I did not understand that. To send a reading, press “{accounts}” and choose the account.").format(
        accounts=MENU_ACCOUNTS
    )


def text_only() -> str:
    return _("I can read only text. Please type the meter reading as digits, for example 12345 or 1111/2222.")


def edited_ignored() -> str:
    return _("I do not read edited messages. Send the corrected text as a new message.")


def private_only() -> str:
    return _("I work in private chats only. Write to me directly to send meter readings.")


def signin_link(url: str) -> str:
    minutes = max(1, settings.SIGNIN_LINK_MAX_AGE_SECONDS // 60)
    return "\n".join(
        [
            _("Your link to sign in to the web cabinet:"),
            url,
            "",
            ngettext(
                "It works for {count} minute and only once. Do not forward it to anyone: it opens your cabinet.",
                "It works for {count} minutes and only once. Do not forward it to anyone: it opens your cabinet.",
                minutes,
            ).format(count=minutes),
        ]
    )


def stale_button() -> str:
    return _("This button no longer works. Open “{accounts}” again.").format(accounts=MENU_ACCOUNTS)


def reminder_window_opens(window: Window, numbers: Sequence[str]) -> str:
    return (
        capfirst(period_label(window.period))
        + ".\n"
        + ngettext(
            "Readings are accepted from today until {closes}: send the reading of your meter for account {accounts}.\n"
            "Open “{menu}” and choose the account.",
            "Readings are accepted from today until {closes}: send the readings of your meters for accounts "
            "{accounts}.\nOpen “{menu}” and choose an account.",
            len(numbers),
        ).format(closes=day(window.closes), accounts=", ".join(numbers), menu=MENU_ACCOUNTS)
    )


def reminder_last_day(window: Window, numbers: Sequence[str]) -> str:
    return (
        capfirst(period_label(window.period))
        + ".\n"
        + ngettext(
            "Today, {closes}, is the last day to send readings, and there is none yet for account {accounts}.\n"
            "Open “{menu}” and choose the account. A reading sent later counts only as a control reading.",
            "Today, {closes}, is the last day to send readings, and there are none yet for accounts {accounts}.\n"
            "Open “{menu}” and choose an account. A reading sent later counts only as a control reading.",
            len(numbers),
        ).format(closes=day(window.closes), accounts=", ".join(numbers), menu=MENU_ACCOUNTS)
    )


def review_outcome(reading: Reading) -> str:
    details = {
        "values": reading.values_text,
        "period": period_label(reading.period),
        "number": reading.meter.account.number,
    }
    receipt = "\n" + receipt_line(reading) + "."
    if reading.status == Reading.Status.ACCEPTED:
        return (
            _("Staff checked your reading {values}, {period} (account {number}): it is accepted.").format(**details)
            + receipt
        )
    return (
        _(
            "Staff checked your reading {values}, {period} (account {number}) and rejected it: {reason}\n"
            "Check the meter and send the reading again through “{menu}”."
        ).format(reason=reading.review_note, menu=MENU_ACCOUNTS, **details)
        + receipt
    )


# --- Shorter labels, for platforms with tighter buttons than Telegram's -----------------------------

# Messenger's quick replies and buttons hold at most 20 characters; these say the same in fewer.
SHORT_LABELS = {
    MENU_ADD: pgettext_lazy("short button", "Add account"),
    MENU_ACCOUNTS: pgettext_lazy("short button", "My accounts"),
    MENU_SIGNIN: pgettext_lazy("short button", "Web cabinet"),
    REMINDERS_ON: pgettext_lazy("short button", "Reminders: on"),
    REMINDERS_OFF: pgettext_lazy("short button", "Reminders: off"),
}
SUBMIT_FOR_SHORT = pgettext_lazy("short button", "Meter {serial}")


def short_label(label: str) -> str:
    """The short form of a button's label, in the language that drew it; the label itself when
    it has none. "Send reading: <serial>" becomes "Meter <serial>"."""
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            for long, short in SHORT_LABELS.items():
                if label == str(long):
                    return str(short)
            prefix, _, suffix = str(SUBMIT_FOR).partition("{serial}")
            if len(label) > len(prefix) + len(suffix) and label.startswith(prefix) and label.endswith(suffix):
                return SUBMIT_FOR_SHORT.format(serial=label[len(prefix) : len(label) - len(suffix)])
    return label


def choose_option() -> str:
    return _("Choose an option:")


def messenger_greeting() -> str:
    """The Messenger greeting people see before they first write (at most 160 characters)."""
    return _("Send your electricity meter readings here. Press “Get Started”, then add your personal account.")


# --- Meter photos ---------------------------------------------------------------------------------


def photo_added(reading: Reading) -> str:
    return _("The photo is added to the reading {values} of meter {serial}; staff see it beside the reading.").format(
        values=reading.values_text, serial=reading.meter.serial
    )


def photo_before_reading(zones: int) -> str:
    return _("I keep a photo with a reading: type the numbers from the display first, then send the photo.") + (
        " " + ask_reading(zones)
    )


def photo_after_reading() -> str:
    return _("The photo was not kept: send it again once the reading is recorded.")


def photo_without_reading() -> str:
    return _(
        "I keep a photo of the meter with a reading: send the reading first (“{menu}”), then the photo. "
        "A reading held for review or rejected takes a photo too: just send it."
    ).format(menu=MENU_ACCOUNTS)


def photo_not_received() -> str:
    return _("The photo did not reach me. Please send it again.")
