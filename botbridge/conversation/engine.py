"""The conversation's steps: which answer follows which event, at which step.

Every step reads and writes through the portal's selectors and services only.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from accounts.errors import AccountMeterMismatch, DomainError, MeterSerialInvalid
from accounts.linking import account_link, account_link_reminders_set, account_unlink
from accounts.models import User
from accounts.numbers import account_number_normalize
from accounts.reminder_channels import reminder_channel_set
from accounts.selectors import account_link_get, channel_identity_of, linked_account_numbers
from accounts.signin_links import signin_link_issue
from botbridge import actions, texts
from botbridge.conversation import menus
from botbridge.conversation.events import Choice, Command, Event, NotPrivate, Photo, Text, Unreadable
from botbridge.conversation.replies import Answer, Notice, Reply
from botbridge.services import conversation_load, conversation_save
from readings.errors import ConfirmationRequired, PhotoTooBig
from readings.photos import MAX_BYTES as PHOTO_MAX_BYTES
from readings.selectors import (
    account_history,
    account_overview,
    linked_meter,
    reading_awaiting_photo,
    reading_states,
    resident_reading,
    window_on,
)
from readings.services import reading_photo_attach

# The steps, named as aiogram named them when the bot kept its state through aiogram, so
# the rows saved then still mean the same step.
NUMBER, SERIAL = "Linking:number", "Linking:serial"
READING, CONFIRM = "Submitting:reading", "Submitting:confirm"


@dataclass
class Turn:
    """One event's handling: who, and where the conversation stands (changed as it moves on)."""

    channel: str
    user_key: str
    user: User
    name: str
    step: str | None
    data: dict[str, Any] = field(default_factory=dict)

    def go(self, step: str | None, **data: Any) -> None:
        """Move to `step` with `data` added to what the conversation holds."""
        self.step = step
        self.data.update(data)

    def clear(self) -> None:
        self.step, self.data = None, {}


def converse(
    *, channel: str, user_key: str, user: User | None, event: Event, language: str, name: str = ""
) -> list[Answer]:
    """The engine's one entry point; see the package's docstring."""
    with translation.override(language):
        if isinstance(event, NotPrivate):
            return [Reply(texts.private_only())]
        # No savepoint inside the channel's transaction (event_answer's): an error here fails the
        # whole event anyway, and a savepoint is two round trips on every event.
        with transaction.atomic(savepoint=False):
            step, data = conversation_load(channel=channel, user_key=user_key)
            turn = Turn(channel=channel, user_key=user_key, user=user, name=name, step=step, data=dict(data))
            answers = _answer(turn, event)
            if (turn.step, turn.data) != (step, data):
                conversation_save(channel=channel, user_key=user_key, step=turn.step, data=turn.data)
        return with_standing(answers, menus.standing(turn.step))


def with_standing(answers: list[Answer], menu) -> list[Answer]:
    """Every message that offers nothing itself says which menu is in effect after it."""
    return [
        replace(answer, standing=menu)
        if isinstance(answer, Reply) and answer.text is not None and answer.options is None
        else answer
        for answer in answers
    ]


def _answer(turn: Turn, event: Event) -> list[Answer]:
    if isinstance(event, Command):
        return COMMANDS.get(event.name, unknown)(turn)
    if isinstance(event, Text):
        return on_text(turn, event.text)
    if isinstance(event, Choice):
        return on_choice(turn, event)
    if isinstance(event, Photo):
        return on_photo(turn, event)
    if isinstance(event, Unreadable) and event.edited:
        return [Reply(texts.edited_ignored())]
    return [Reply(texts.text_only())]


# --- What works at every step: commands and the main menu ---------------------------------------


def start(turn: Turn) -> list[Answer]:
    turn.clear()
    return [Reply(texts.greeting(turn.name), menus.main_menu())]


def cancel(turn: Turn) -> list[Answer]:
    turn.clear()
    return [Reply(texts.cancelled(), menus.main_menu())]


def help_(turn: Turn) -> list[Answer]:
    return [Reply(texts.help_text(window_on(), timezone.localdate()), menus.main_menu())]


def add_account(turn: Turn) -> list[Answer]:
    turn.clear()
    turn.go(NUMBER)
    return [Reply(texts.ask_account_number(), menus.cancel_only())]


def my_accounts(turn: Turn) -> list[Answer]:
    turn.clear()
    numbers = linked_account_numbers(user=turn.user)
    if not numbers:
        return [Reply(texts.no_accounts(), menus.main_menu())]
    return [Reply(texts.choose_account(), menus.accounts(numbers))]


def signin_link(turn: Turn) -> list[Answer]:
    try:
        url = signin_link_issue(user=turn.user)
    except DomainError as refusal:
        return [Reply(refusal.message)]
    return [Reply(texts.signin_link(url), secret=True)]


def unknown(turn: Turn) -> list[Answer]:
    return [Reply(texts.unknown_text(), menus.main_menu())]


COMMANDS: dict[str, Callable[[Turn], list[Answer]]] = {
    "start": start,
    "cancel": cancel,
    "help": help_,
    "add": add_account,
    "accounts": my_accounts,
    "login": signin_link,
}
LABELS = [
    (texts.CANCEL, cancel),
    (texts.MENU_HELP, help_),
    (texts.MENU_ADD, add_account),
    (texts.MENU_ACCOUNTS, my_accounts),
    (texts.MENU_SIGNIN, signin_link),
]


def typed(label: object) -> set[str]:
    return {variant.lower() for variant in texts.in_every_language(label)}


def on_text(turn: Turn, text: str) -> list[Answer]:
    # PostgreSQL refuses NUL in text and JSON, and a text may be kept in the step's data: the
    # Telegram intake mends it already, but no channel should have to remember to.
    text = text.replace("\x00", "\ufffd")
    for label, step in LABELS:
        # A menu label works whatever language drew the menu.
        if text in texts.in_every_language(label):
            return step(turn)
    if turn.step == NUMBER:
        return account_number(turn, text)
    if turn.step == SERIAL:
        return meter_serial(turn, text)
    if turn.step == CONFIRM and text.lower().strip() in typed(texts.YES):
        return submit(turn, turn.data["pending"], confirm=True)
    if turn.step == CONFIRM and text.lower().strip() in typed(texts.NO):
        return declined(turn)
    if turn.step in (READING, CONFIRM):  # at the question, a text is a new reading instead of an answer
        return submit(turn, text, confirm=False)
    return unknown(turn)


# --- Adding an account: its number, then the serial printed on the meter -------------------------


def account_number(turn: Turn, text: str) -> list[Answer]:
    try:
        number = account_number_normalize(text)
    except DomainError as refusal:
        return [Reply(f"{refusal.message}\n{texts.retry_account_number()}")]
    turn.go(SERIAL, number=number)
    return [Reply(texts.ask_meter_serial(number))]


def meter_serial(turn: Turn, text: str) -> list[Answer]:
    try:
        link = account_link(user=turn.user, account_number=turn.data["number"], meter_serial=text)
    except MeterSerialInvalid as refusal:
        return [Reply(f"{refusal.message}\n{texts.retry_meter_serial()}")]
    except AccountMeterMismatch as refusal:
        # Either number may be the wrong one and the answer must not say which: both again.
        turn.go(NUMBER)
        return [Reply(f"{refusal.message}\n{texts.retry_account_number()}")]
    except DomainError as refusal:  # already linked, too many attempts: nothing to retry now
        turn.clear()
        return [Reply(refusal.message, menus.main_menu())]
    turn.clear()
    return [Reply(texts.linked(link.account.number, link.account.address), menus.main_menu())]


# --- A reading, and the Так / Ні of an unusual one ------------------------------------------------


def ask_for_reading(turn: Turn, meter) -> Reply:
    turn.clear()
    turn.go(READING, meter_id=meter.pk, zones=meter.zones)
    return Reply(texts.ask_reading(meter.zones))


def submit(turn: Turn, text: str, *, confirm: bool) -> list[Answer]:
    try:
        recorded = actions.reading_from_chat(
            user=turn.user,
            meter_id=turn.data["meter_id"],
            text=text,
            channel=turn.channel,
            user_key=turn.user_key,
            confirm=confirm,
        )
    except ConfirmationRequired as question:
        turn.go(CONFIRM, pending=text)
        return [Reply(texts.confirm_question(question.message), menus.yes_no())]
    except DomainError as refusal:
        turn.go(READING)
        return [Reply(refusal.message)]
    turn.clear()
    # Remembered until the conversation moves on: a photo sent next is evidence for this reading.
    turn.go(None, recorded=recorded.reading.pk)
    return [Reply(texts.recorded(recorded.reading, recorded.cost, recorded.next_window), menus.main_menu())]


def declined(turn: Turn) -> list[Answer]:
    turn.go(READING)
    return [Reply(texts.confirm_declined(turn.data["zones"]))]


# --- A photo of the meter: evidence for a reading -------------------------------------------------


def on_photo(turn: Turn, photo: Photo) -> list[Answer]:
    """A photo goes with the reading it shows: the one sent as its caption while a reading is
    asked for, the one just recorded in this chat, or the newest one staff hold or rejected."""
    answers: list[Answer] = []
    caption = photo.caption.replace("\x00", "\ufffd").strip()
    if turn.step in (READING, CONFIRM) and caption:
        answers = submit(turn, caption, confirm=False)
        if "recorded" not in turn.data:  # refused or asked to confirm: the photo waits for a reading
            return [*answers, Reply(texts.photo_after_reading())]
    reading = _photo_target(turn)
    if reading is None:
        if turn.step in (READING, CONFIRM):
            return [Reply(texts.photo_before_reading(turn.data["zones"]))]
        return [Reply(texts.photo_without_reading(), menus.main_menu())]
    try:
        if photo.too_big:
            raise PhotoTooBig(limit=PHOTO_MAX_BYTES // (1024 * 1024))
        if photo.content is None:
            return [*answers, Reply(texts.photo_not_received())]
        reading_photo_attach(reading_id=reading.pk, content=photo.content, channel=turn.channel, uploaded_by=turn.user)
    except DomainError as refusal:
        return [*answers, Reply(refusal.message)]
    return [*answers, Reply(texts.photo_added(reading))]


def _photo_target(turn: Turn):
    recorded = turn.data.get("recorded")
    if recorded is not None and turn.step is None:
        reading = resident_reading(user=turn.user, reading_id=recorded)
        if reading is not None:
            return reading
    return reading_awaiting_photo(user=turn.user, meter_id=turn.data.get("meter_id"))


# --- Chosen options: the accounts, an account's card, Так / Ні -----------------------------------


class Stale(Exception):
    """The option no longer works: its account was removed, or it was never this resident's."""


def on_choice(turn: Turn, choice: Choice) -> list[Answer]:
    step = CHOICES.get(choice.action)
    try:
        if step is None:
            raise Stale()
        return step(turn, choice.argument)
    except (Stale, DomainError):
        return [Notice(texts.stale_button(), alert=True)]


def to_menu(turn: Turn, _argument: str) -> list[Answer]:
    turn.clear()
    return [Notice(), Reply(texts.choose_account(), replaces=True), Reply(texts.main_menu(), menus.main_menu())]


def account_list(turn: Turn, _argument: str) -> list[Answer]:
    turn.clear()
    numbers = linked_account_numbers(user=turn.user)
    if not numbers:
        return [Notice(), Reply(texts.no_accounts(), replaces=True)]
    return [Notice(), Reply(texts.choose_account(), menus.accounts(numbers), replaces=True)]


def account_card(turn: Turn, number: str) -> list[Answer]:
    turn.clear()
    overview = account_overview(user=turn.user, number=number)
    meters = [meter for meter, _last in overview.meters]
    here = overview.reminders_enabled and _reminders_on_channel(turn)
    answers: list[Answer] = [
        Notice(),
        Reply(texts.account_card(overview), menus.account_card(number, meters, here), replaces=True),
    ]
    if len(meters) == 1:
        answers.append(ask_for_reading(turn, meters[0]))
    return answers


def meter_chosen(turn: Turn, meter_id: str) -> list[Answer]:
    try:
        meter = linked_meter(user=turn.user, meter_id=int(meter_id))
    except ValueError:
        raise Stale() from None
    return [Notice(), ask_for_reading(turn, meter)]


def history(turn: Turn, number: str) -> list[Answer]:
    overview = account_overview(user=turn.user, number=number)
    states = reading_states(account_history(account_id=overview.account.pk))
    return [Notice(), Reply(texts.history(number, states), menus.back_to_account(number))]


def _reminders_on_channel(turn: Turn) -> bool:
    """Whether reminders come to the resident on this bot: they may have turned this bot's
    reminders off in the cabinet's settings, which the account's switch alone does not show."""
    identity = channel_identity_of(user=turn.user, channel=turn.channel)
    return identity is None or identity.reminders_enabled


def reminders(turn: Turn, number: str) -> list[Answer]:
    """The account card's reminders switch, as the resident sees it in this bot: "on" only when
    reminders for the account come here. Turning it on asks for them here, so it turns this bot's
    reminders back on too; turning it off stops the account's reminders everywhere, as before."""
    overview = account_overview(user=turn.user, number=number)
    on_here = overview.reminders_enabled and _reminders_on_channel(turn)
    link = account_link_reminders_set(user=turn.user, account_number=number, enabled=not on_here)
    if not on_here and not _reminders_on_channel(turn):
        reminder_channel_set(user=turn.user, channel=turn.channel, enabled=True)
    meters = [meter for meter, _last in overview.meters]
    return [
        Notice(texts.reminders(link.reminders_enabled, number)),
        Reply(None, menus.account_card(number, meters, link.reminders_enabled), replaces=True),
    ]


def unlink_question(turn: Turn, number: str) -> list[Answer]:
    account_link_get(user=turn.user, number=number)
    return [Notice(), Reply(texts.unlink_question(number), menus.unlink_confirm(number), replaces=True)]


def unlink(turn: Turn, number: str) -> list[Answer]:
    turn.clear()  # even when the option turns out stale: the resident chose to leave the step
    account_unlink(user=turn.user, account_number=number)
    return [Notice(), Reply(texts.unlinked(number), replaces=True), Reply(texts.main_menu(), menus.main_menu())]


def confirmed(turn: Turn, _argument: str) -> list[Answer]:
    if turn.step != CONFIRM:
        raise Stale()  # no reading waits for an answer
    # The question's options go; the answer follows as a message of its own.
    return [Notice(), Reply(None, replaces=True), *submit(turn, turn.data["pending"], confirm=True)]


def declined_by_choice(turn: Turn, _argument: str) -> list[Answer]:
    if turn.step != CONFIRM:
        raise Stale()
    return [Notice(), Reply(None, replaces=True), *declined(turn)]


CHOICES: dict[str, Callable[[Turn, str], list[Answer]]] = {
    menus.MENU: to_menu,
    menus.LIST: account_list,
    menus.OPEN: account_card,
    menus.METER: meter_chosen,
    menus.HISTORY: history,
    menus.REMINDERS: reminders,
    menus.UNLINK: unlink_question,
    menus.UNLINK_YES: unlink,
    menus.YES: confirmed,
    menus.NO: declined_by_choice,
}
