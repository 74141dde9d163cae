"""Garbage at every step of the conversation: the bot always answers, validly, and saves nothing.

One resident per test walks to a step (idle, account number, meter serial, reading, Так/Ні)
and sends the whole corpus there, one message after another, through the webhook; when a
message legitimately moves the conversation on (a command, a menu button, valid input),
the resident walks back to the step before the next message. Problems are collected and
reported together, so one bad reply does not hide the others.
"""

import functools
import logging
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import time_machine

from accounts.models import AccountLink, Meter, TelegramIdentity
from accounts.tests.factories import MeterFactory
from botbridge import texts as bot_texts
from botbridge.services import conversation_get
from botbridge.tests import updates
from botbridge.tests.chat import Conversation, texts, webhook_deliver
from botbridge.tests.fake_bot_api import DEFAULT_BOT_ID, MAX_TEXT_LENGTH, Call
from readings.models import Reading

IN_THE_WINDOW = "2026-11-28 10:00 +02:00"  # the window 27.11–03.12.2026 is open
ACCOUNT, SERIAL, ADDRESS = "123456789", "AB123", "вул. Соборна, 123"
UNUSUAL = "99999"  # 98 999 kWh since the meter's initial 1000: the bot asks Так / Ні

# --- The corpus ---------------------------------------------------------------------------------

HUGE_NUMBERS = [
    "9" * 5000,
    "1" + "0" * 300,
    "1e309",
    "-0",
    "0x1F",
    "١٢٣٤٥",  # Arabic-Indic digits: int() reads them
    "１２３４５",  # full-width digits from a phone keyboard
    "𝟏𝟐𝟑𝟒𝟓",  # mathematical bold digits
    "²³",
    "½",
    "Ⅻ",
    "-1",
    "−1250",
    "NaN",
    "inf",
    "9" * 64,
    "9" * 65,
    "1250" + "0" * 60,
]
SQL = [
    "'; DROP TABLE readings_reading; --",
    "1 OR 1=1",
    "1111/2222; DELETE",
    "' OR '1'='1",
    '"; SELECT * FROM accounts_user; --',
    "1250); DELETE FROM readings_reading; --",
]
MARKUP = [
    "<b>1</b>",
    "<script>alert(1)</script>",
    "*bold* _x_ `code` [a](http://x)",
    "<a href='tg://user?id=1'>x</a>",
    "<",
    "&",
    "<b>",
    "```\n1250\n```",
    "[1250](javascript:alert(1))",
    "<i>1250</i>",
]
FORMAT_TRAPS = [
    "{0}",
    "{number}",
    "%s %(x)s",
    "{{}}",
    "{",
    "}",
    "{part}{example}",
    "${HOME}",
]
EMPTY_LOOKING = [
    " ",
    "\n\n",
    "\u200b",
    "\t",
    "\u00a0",
    "\ufeff",
    "\u200d",
    "\u202e",
    "\x00",
    "\x00" * 10,
    "\x1f",
    "\r\n",
]
MAXIMUM_LENGTH = [
    "1" * MAX_TEXT_LENGTH,
    "я" * MAX_TEXT_LENGTH,
    "{0}" * (MAX_TEXT_LENGTH // 3),
    "\x00" * MAX_TEXT_LENGTH,
    "🙂" * (MAX_TEXT_LENGTH // 2),  # 2048 emoji are 4096 UTF-16 units, Telegram's measure
    ("1111/2222 " * 410)[:MAX_TEXT_LENGTH],
]
SLASHES = [
    "/",
    "//",
    "1111//2222",
    "/////",
    "1111/",
    "/2222",
    "1111/2222/3333/4444",
    "1111 / 2222",
    "1111／2222",
    "1111⁄2222",
]
COMMANDS = [
    "/unknown",
    "/start@other_bot",
    "/cancel extra",
    "/START",
    "/start 123456789",
    "/ start",
    "/1250",
    "/help",
    "/start@pokaznyk_test_bot",
    "/start " + "x" * 4000,
    "/accounts",
    "/add",
    "/login",
    "/cancel",
    "/start",
]
LABELS = [
    "Додати особовий рахунок",
    "Мої особові рахунки",
    "Допомога",
    "Скасувати",
    "Add personal account",
    "My personal accounts",
    "Help",
    "Cancel",
    "« Назад",
    "Так",
    "Ні",
    "Останні показання",
    "Нагадування: увімкнено",
    "Відв’язати рахунок",
    "допомога",
]
NEAR_MISSES = [
    "1250.5",
    "1250,5",
    "1250,",
    "1 250",
    "1250 кВт·год",
    "1250kWh",
    "12-50",
    "O1250",
    "1111/2222",
    "1111/2222/3333",
    "+1250",
    "№1250",
    "показання 1250",
    "12345678",
    "1000000",
    "12345678901234567890",
    "1234-5678-9",
    "12345",
    "123 456 789",
    "AB-123",
    "АВ123",  # Cyrillic А and В
    "AB123!",
    "AB 123 45",
    "A" * 33,
    "AB123\u200b",
    "так",
    "1250",  # valid as a reading; a near-miss everywhere else
    "01250",
    " 1250 ",
    UNUSUAL,
]
SCRIPTS_AND_SYMBOLS = [
    "مرحبا",
    "שלום 1250",
    "\u202e1250",
    "1\u0301250",
    "Z̷̢͓̲̈́͐a̸l̴g̴o̵",
    "👨‍👩‍👧‍👦",
    "1\u200d2\u200d5\u200d0",
    "🏳️‍🌈",
    "💡1250",
    "1️⃣2️⃣5️⃣0️⃣",
    "\U00020000\U0002a6d6",
    "\U00030000",
    "\U000e0041\U000e007f",
    "\U000f0000",
    "\U0010ffff",
    "\ufffd",
    "\uffff",
    "\x01\x02\x03",
    "1250\x00",
    "\x1b[31mred",
]
HAND_WRITTEN = (
    HUGE_NUMBERS
    + SQL
    + MARKUP
    + FORMAT_TRAPS
    + EMPTY_LOOKING
    + MAXIMUM_LENGTH
    + SLASHES
    + COMMANDS
    + LABELS
    + NEAR_MISSES
    + SCRIPTS_AND_SYMBOLS
)

# Ranges to draw from, one or more in each of the 17 planes; surrogates cannot travel in JSON.
PLANES = [
    (0x00, 0x1F),  # C0 controls, \x00 included
    (0x20, 0x7E),
    (0x80, 0x9F),  # C1 controls
    (0xA0, 0x24F),
    (0x300, 0x36F),  # combining marks
    (0x400, 0x4FF),  # Cyrillic
    (0x590, 0x6FF),  # Hebrew, Arabic (right to left)
    (0x200B, 0x206F),  # zero-width joiners, direction marks, invisible operators
    (0x4E00, 0x9FFF),
    (0xE000, 0xF8FF),  # private use
    (0xFE00, 0xFFFF),  # variation selectors, specials
    (0x1D400, 0x1D7FF),  # plane 1: mathematical letters and digits
    (0x1F300, 0x1FAFF),  # plane 1: emoji
    (0x20000, 0x2A6DF),  # plane 2
    (0x30000, 0x3134F),  # plane 3
    *((plane << 16, (plane << 16) + 0xFFFF) for plane in range(4, 14)),  # planes 4-13: unassigned
    (0xE0000, 0xE01EF),  # plane 14: tags, variation selectors
    (0xF0000, 0xFFFFD),  # plane 15
    (0x100000, 0x10FFFD),  # plane 16
]
READINGISH = "0123456789/ ,.-"


def random_texts(rng: random.Random, mixed: int) -> list[str]:
    """Some characters of every range alone, then `mixed` texts drawn from all of them."""

    def from_range(low: int, high: int) -> str:
        return chr(rng.randint(low, high))

    def anywhere() -> str:
        if rng.random() < 0.2:
            return rng.choice(READINGISH)
        return from_range(*rng.choice(PLANES))

    result = ["".join(from_range(low, high) for _ in range(rng.randint(1, 8))) for low, high in PLANES]
    for _ in range(mixed):
        length = rng.choice([1, 2, 3, 5, 8, 13, 21, 40, 64, 65, 300])
        result.append("".join(anywhere() for _ in range(length)))
    # Two texts of Telegram's maximum from the Basic Multilingual Plane (one UTF-16 unit each).
    for _ in range(2):
        result.append("".join(from_range(0x20, 0xD7FF) for _ in range(MAX_TEXT_LENGTH)))
    return result


RANDOM = random_texts(random.Random(20261128), mixed=30)
CORPUS = list(dict.fromkeys(HAND_WRITTEN + RANDOM))


def test_the_corpus_is_big_varied_and_deliverable():
    assert len(CORPUS) >= 200
    assert len(set(CORPUS)) == len(CORPUS)
    utf16_lengths = [len(text.encode("utf-16-le")) // 2 for text in CORPUS]
    assert utf16_lengths.count(MAX_TEXT_LENGTH) >= 6
    assert [text for text, length in zip(CORPUS, utf16_lengths, strict=True) if length > MAX_TEXT_LENGTH] == [
        "9" * 5000  # longer than Telegram delivers, in case a client or a proxy does not split it
    ]
    assert not any(0xD800 <= ord(char) <= 0xDFFF for text in CORPUS for char in text)
    planes = {ord(char) >> 16 for text in CORPUS for char in text}
    assert planes == set(range(17))


# --- What "valid" means at each step, decided independently of the bot's own parser ---------------


@functools.cache
def menu_labels() -> frozenset[str]:
    """The reply keyboard's buttons in every language: they work at every step, by design."""
    menu = (bot_texts.MENU_ADD, bot_texts.MENU_ACCOUNTS, bot_texts.MENU_HELP, bot_texts.MENU_SIGNIN, bot_texts.CANCEL)
    return frozenset().union(*(bot_texts.in_every_language(label) for label in menu))


def is_command(text: str) -> bool:
    words = text.split()
    return bool(words) and words[0].startswith("/")


def could_be_reading(text: str) -> bool:
    return bool(re.fullmatch(r"\s*\d+(\s*/\s*\d+)*\s*", unicodedata.normalize("NFKC", text)))


def could_be_account_number(text: str) -> bool:
    digits = "".join(text.split()).replace("-", "")
    return digits.isascii() and digits.isdigit() and 6 <= len(digits) <= 12


def could_be_reading_or_answer(text: str) -> bool:
    """At the Так/Ні question a typed "так" or "ні" answers it, as the buttons would."""
    answers = bot_texts.in_every_language(bot_texts.YES) | bot_texts.in_every_language(bot_texts.NO)
    return could_be_reading(text) or text.strip().lower() in {answer.lower() for answer in answers}


LOOKALIKES = {"А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T"}


def serial_typed(text: str) -> str:
    """The serial a resident meant: full-width folded, Cyrillic look-alikes read as Latin."""
    typed = "".join(unicodedata.normalize("NFKC", text).split()).upper()
    return "".join(LOOKALIKES.get(char, char) for char in typed)


def is_the_serial(text: str) -> bool:
    return serial_typed(text) == SERIAL


def could_be_serial(text: str) -> bool:
    """A serial-shaped text that is not this meter's: refused as a wrong pair, both numbers asked again."""
    typed = serial_typed(text)
    return 0 < len(typed) <= 32 and typed.replace("-", "").isalnum()


# --- A resident at a step -------------------------------------------------------------------------


def state_of(resident: Conversation) -> str | None:
    uid = resident.user_id
    state, _data = conversation_get(key=f"fsm:{DEFAULT_BOT_ID}:{uid}:{uid}:default")
    return state


@dataclass(frozen=True)
class Step:
    name: str
    state: str | None
    enter: Callable[[Conversation], None]
    may_save: Callable[[str], bool] = lambda _text: False
    may_move_on: Callable[[str], bool] = lambda _text: False
    after_garbage: str | None = None  # where garbage leads; None: the bot asks again at this step


def enter_idle(resident: Conversation) -> None:
    resident.say("/start")


def enter_number(resident: Conversation) -> None:
    resident.say("Додати особовий рахунок")


def enter_serial(resident: Conversation) -> None:
    resident.say("Додати особовий рахунок")
    resident.say(ACCOUNT)


def enter_reading(resident: Conversation) -> None:
    resident.say("Мої особові рахунки")
    resident.press(ACCOUNT)


def enter_confirm(resident: Conversation) -> None:
    if state_of(resident) != "Submitting:reading":
        enter_reading(resident)
    resident.say(UNUSUAL)


STEPS = {
    "idle": Step("idle", None, enter_idle),
    "account number": Step("account number", "Linking:number", enter_number, may_move_on=could_be_account_number),
    "meter serial": Step(
        "meter serial", "Linking:serial", enter_serial, may_save=is_the_serial, may_move_on=could_be_serial
    ),
    "reading": Step(
        "reading", "Submitting:reading", enter_reading, may_save=could_be_reading, may_move_on=could_be_reading
    ),
    # A text at the question is a new reading: garbage there is refused like at the reading step.
    "Так/Ні": Step(
        "Так/Ні",
        "Submitting:confirm",
        enter_confirm,
        may_save=could_be_reading_or_answer,
        may_move_on=could_be_reading_or_answer,
        after_garbage="Submitting:reading",
    ),
}


def counts() -> tuple[int, int]:
    return Reading.objects.count(), AccountLink.objects.count()


def shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + f"…({len(text)} chars)")


def send_and_check(resident: Conversation, step: Step, text: str, caplog) -> list[str]:
    """Send `text` at `step`; what went wrong, if anything."""
    fake, problems = resident.fake, []
    before_counts, first_call, first_record = counts(), len(fake.calls), len(caplog.records)
    resident.say(text)
    made: list[Call] = fake.calls[first_call:]
    where = f"[{step.name}] {shown(text)}"
    refused = [
        f"{call.method} -> {call.status} {call.response.get('description')}" for call in made if call.status != 200
    ]
    if refused:
        problems.append(f"{where}: the Bot API refused {refused}")
    replies = [call for call in made if call.method == "sendMessage" and call.params.get("chat_id") == resident.user_id]
    if not any(call.status == 200 for call in replies):
        problems.append(f"{where}: no reply in the chat")
    errors = [record for record in caplog.records[first_record:] if record.levelno >= logging.ERROR]
    if errors:
        problems.append(f"{where}: {errors[0].getMessage()}: {errors[0].exc_info and errors[0].exc_info[1]!r}")
    if counts() != before_counts and not step.may_save(text):
        problems.append(f"{where}: (readings, links) went from {before_counts} to {counts()}")
    now = state_of(resident)
    if now != (step.after_garbage or step.state) and not (
        is_command(text) or text in menu_labels() or step.may_move_on(text)
    ):
        problems.append(f"{where}: went to {now!r}")
    return problems


@pytest.fixture
def home(db, settings):
    # Mismatched serials count as failed linking attempts; the limit is tested elsewhere and
    # would end the serial step after five of the corpus's serial-shaped messages.
    settings.LINK_ATTEMPTS_MAX = 1000
    settings.LINK_ATTEMPTS_PER_ACCOUNT = 1000
    return MeterFactory(account__number=ACCOUNT, account__address=ADDRESS, serial=SERIAL, initial_values=[1000])


@pytest.mark.parametrize("step_name", list(STEPS))
def test_every_message_of_the_corpus_gets_a_valid_reply_and_saves_nothing(home, webhook_resident, caplog, step_name):
    step, resident, problems = STEPS[step_name], webhook_resident, []
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        resident.say("/start")
        if step.state and step.state.startswith("Submitting"):
            enter_serial(resident)
            resident.say(SERIAL)
        for text in CORPUS:
            if state_of(resident) != step.state:
                step.enter(resident)
                assert state_of(resident) == step.state, f"could not get back to the {step.name} step"
            problems += send_and_check(resident, step, text, caplog)
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
        the_conversation_goes_on(resident, step)


def the_conversation_goes_on(resident: Conversation, step: Step) -> None:
    if state_of(resident) != step.state:
        step.enter(resident)
    if step.name == "idle":
        assert "Вітаю, Марія" in texts(resident.say("/start"))
    elif step.name == "account number":
        assert "на самому лічильнику" in texts(resident.say(ACCOUNT))
    elif step.name == "meter serial":
        # A look-alike of the serial in the corpus (full-width, Cyrillic letters) may have linked it already.
        reply = texts(resident.say(SERIAL))
        assert f"{ACCOUNT} додано" in reply or f"{ACCOUNT} уже є у вашому списку" in reply
        assert AccountLink.objects.filter(user__telegram__telegram_id=resident.user_id).count() == 1
    elif step.name == "reading":
        assert "Показання прийнято: 1250" in texts(resident.say("1250"))
    else:
        saved = texts(resident.press("Так"))
        assert UNUSUAL in saved
        # Typed "так" in the corpus saved it too; each saving supersedes the one before.
        assert Reading.objects.filter(value1=int(UNUSUAL), status=Reading.Status.NEEDS_REVIEW).count() == 1


# --- Forged buttons -------------------------------------------------------------------------------

NEVER_LINKED = "999999999"
FORGED = [
    f"acc:open:{NEVER_LINKED}",
    "acc:open:" + "9" * 60,
    f"acc:open:{ACCOUNT}",  # someone else's account
    f"acc:history:{ACCOUNT}",
    f"acc:reminders:{ACCOUNT}",
    f"acc:unlink_yes:{ACCOUNT}",
    f"acc:history:{NEVER_LINKED}",
    f"acc:reminders:{NEVER_LINKED}",
    f"acc:unlink_yes:{NEVER_LINKED}",
    "acc:unlink:" + "9" * 53,  # 64 bytes: the most callback data Telegram carries
    "acc:list",
    "acc:menu",
    "acc",
    "acc:",
    "acc:open",
    "acc:nonsense:1",
    "acc:open:1:2",
    "mtr:notanumber",
    "mtr:-1",
    "mtr:" + "9" * 60,
    "cf:yes",  # no reading waits for an answer
    "cf:no",
    "cf:maybe",
    "garbage",
    ":",
    "🙂",
]


def linked_with_a_reading(owner: Conversation) -> Meter:
    """The owner has linked the account and sent a reading."""
    meter = MeterFactory(account__number=ACCOUNT, account__address=ADDRESS, serial=SERIAL, initial_values=[1000])
    owner.say("/start")
    enter_serial(owner)
    owner.say(SERIAL)
    enter_reading(owner)
    assert "Показання прийнято: 1250" in texts(owner.say("1250"))
    return meter


def leaks(seen: str) -> list[str]:
    """What of the owner's account a stranger must not read: address, meter, readings, the card."""
    secrets = ["Соборна", SERIAL, "1250", f"Особовий рахунок {ACCOUNT}", "Останні показання", "Нагадування"]
    return [secret for secret in secrets if secret in seen]


def press_forged(resident: Conversation, data: str) -> tuple[list[Call], list[Call]]:
    """A callback with `data` on the resident's newest bot message; (answers to it, all calls)."""
    fake = resident.fake
    update = updates.callback(data, user_id=resident.user_id, message_id=fake_last_bot_message(resident))
    first = len(fake.calls)
    resident.send(update)
    made = fake.calls[first:]
    query_id = update["callback_query"]["id"]
    answers = [call for call in made if call.method == "answerCallbackQuery"]
    assert [call.params.get("callback_query_id") for call in answers] == [query_id], (data, made)
    return answers, made


def fake_last_bot_message(resident: Conversation) -> int:
    sent = resident.fake.sent_messages(resident.user_id)
    return sent[-1].response["result"]["message_id"] if sent else 1


def test_a_burst_of_forged_buttons_is_answered_and_shows_nobody_elses_account(
    db, client, bot_settings, fake_bot_api, webhook_resident, caplog
):
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        owner = Conversation(fake_bot_api, webhook_deliver(client), user_id=222)
        meter = linked_with_a_reading(owner)
        resident = webhook_resident  # 111: has linked nothing
        first_call = len(fake_bot_api.calls)
        problems = []
        for data in [*FORGED, f"mtr:{meter.pk}"]:
            resident.say("/start")
            resident.say("1250")
            first_record = len(caplog.records)
            _answers, made = press_forged(resident, data)
            refused = [(call.method, call.response.get("description")) for call in made if call.status != 200]
            errors = [r.getMessage() for r in caplog.records[first_record:] if r.levelno >= logging.ERROR]
            if refused or errors:
                problems.append(f"{data!r}: refused {refused}, errors {errors}")
        assert not problems, "\n".join(problems)
    seen = "\n".join(
        str(call.params.get("text", ""))
        for call in fake_bot_api.calls[first_call:]
        if call.params.get("chat_id") in (None, resident.user_id)
    )
    assert leaks(seen) == []
    assert not Reading.objects.filter(submitted_by__telegram__telegram_id=resident.user_id).exists()
    assert not AccountLink.objects.filter(user__telegram__telegram_id=resident.user_id).exists()
    link = AccountLink.objects.get(account__number=ACCOUNT)
    assert (link.user.telegram.telegram_id, link.reminders_enabled) == (owner.user_id, True)


@dataclass
class Replay:
    owner: Conversation
    stranger: Conversation
    answers: dict[str, Call]  # callback data -> the bot's answerCallbackQuery to the stranger
    replies: dict[str, str]  # callback data -> what the stranger read after pressing it
    calls: list[Call]  # everything the bot did while the stranger replayed
    owner_messages_before: int


@pytest.fixture
def replay(db, client, bot_settings, fake_bot_api, webhook_resident, caplog) -> Replay:
    """Resident 222 presses every button resident 111 got for their account, and a few more."""
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        owner = webhook_resident
        meter = linked_with_a_reading(owner)
        owner.say("Мої особові рахунки")
        owner.press(ACCOUNT)
        owners_buttons = {
            button["callback_data"]
            for call in fake_bot_api.sent_messages(owner.user_id)
            for button in fake_bot_api.inline_buttons(call)
        }
        assert {f"acc:history:{ACCOUNT}", f"acc:unlink:{ACCOUNT}"} <= owners_buttons
        owner_messages_before = len(fake_bot_api.sent_messages(owner.user_id))

        stranger = Conversation(fake_bot_api, webhook_deliver(client), user_id=222)
        stranger.say("/start")
        first_call = len(fake_bot_api.calls)
        answers, replies = {}, {}
        for data in sorted(owners_buttons | {f"mtr:{meter.pk}", f"acc:unlink_yes:{ACCOUNT}"}):
            [answers[data]], made = press_forged(stranger, data)
            replies[data] = texts(made)
        stranger.say("1250")  # not a reading: no account is open for the stranger
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    return Replay(owner, stranger, answers, replies, fake_bot_api.calls[first_call:], owner_messages_before)


def test_a_second_resident_replaying_the_first_ones_buttons_sees_nothing_of_the_account(replay, fake_bot_api):
    assert [call for call in replay.calls if call.status != 200] == []
    assert leaks("\n".join(str(call.params.get("text", "")) for call in replay.calls)) == []
    assert len(fake_bot_api.sent_messages(replay.owner.user_id)) == replay.owner_messages_before
    link = AccountLink.objects.get(account__number=ACCOUNT)
    assert (link.user.telegram.telegram_id, link.reminders_enabled) == (replay.owner.user_id, True)
    assert Reading.objects.get().submitted_by.telegram.telegram_id == replay.owner.user_id
    assert not TelegramIdentity.objects.get(telegram_id=replay.stranger.user_id).user.account_links.exists()


def test_every_button_of_someone_elses_account_tells_the_stranger_it_no_longer_works(replay):
    """As a button of an account the resident has since removed: the account is not in their list."""
    not_stale = {
        data: replay.replies[data]
        for data, answer in replay.answers.items()
        if not data.startswith(("acc:menu", "acc:list"))  # the stranger's own (empty) list is theirs to see
        and not (answer.params.get("show_alert") is True and "Ця кнопка вже не діє" in answer.params.get("text", ""))
    }
    assert not_stale == {}
