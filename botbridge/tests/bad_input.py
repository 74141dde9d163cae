"""The bad-input corpus and the conversation's steps, shared by the tests that send it straight
to the engine (test_engine_bad_input) and through each channel (test_bad_input for Telegram,
test_viber_bad_input, test_messenger_bad_input).

A resident here is anything with `say`, `press` and `user_id`: `chat.Conversation` or
`engine_chat.EngineChat`.
"""

import functools
import logging
import random
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from accounts.models import AccountLink
from botbridge import texts as bot_texts
from botbridge.services import conversation_load
from botbridge.tests.fake_bot_api import MAX_TEXT_LENGTH
from readings.models import Reading

Conversation = Any  # chat.Conversation or engine_chat.EngineChat

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
# What a channel adds to the engine is reading the text (commands the Telegram way, NUL mended,
# button codes), which reads the whole corpus in each channel's parsing test, and sending the
# replies its platform must accept. The replies say nothing of what was typed, only of what it
# was taken for, so a few of each kind go through the webhook and the fake platform at every
# step: commands as Telegram writes them, reply-keyboard labels, NUL and empty-looking texts,
# the maximum length, markup, scripts and joined emoji, the longest number. The whole corpus
# goes to the engine at every step (test_engine_bad_input).
THROUGH_TELEGRAM = [
    "/start@pokaznyk_test_bot",
    "/start@other_bot",
    "/cancel extra",
    "/START",
    "/ start",
    "/help",
    "/start " + "x" * 4000,
    "Скасувати",
    "Cancel",
    "Мої особові рахунки",
    "« Назад",
    "Так",
    "допомога",
    " ",
    "\u200b",
    "\u202e",
    "\x00",
    "\x00" * 10,
    "\r\n",
    "1" * MAX_TEXT_LENGTH,
    "\x00" * MAX_TEXT_LENGTH,
    "🙂" * (MAX_TEXT_LENGTH // 2),
    "<b>1</b>",
    "<script>alert(1)</script>",
    "*bold* _x_ `code` [a](http://x)",
    "<",
    "&",
    "مرحبا",
    "\u202e1250",
    "👨‍👩‍👧‍👦",
    "9" * 5000,
]


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
    channel = getattr(resident, "channel", "telegram")  # the Messenger resident says its own
    state, _data = conversation_load(channel=channel, user_key=str(resident.user_id))
    return state


def conversation_problems(
    *, where: str, step: "Step", text: str, resident: Any, caplog: Any, first_record: int, before: tuple
) -> list[str]:
    """What every channel's corpus test checks the same way once a message is answered: nothing
    logged as an error, nothing saved that the step may not save, no move the step does not allow."""
    problems = []
    errors = [record for record in caplog.records[first_record:] if record.levelno >= logging.ERROR]
    if errors:
        problems.append(f"{where}: {errors[0].getMessage()}: {errors[0].exc_info and errors[0].exc_info[1]!r}")
    if counts() != before and not step.may_save(text):
        problems.append(f"{where}: (readings, links) went from {before} to {counts()}")
    now = state_of(resident)
    if now != (step.after_garbage or step.state) and not (
        is_command(text) or text in menu_labels() or step.may_move_on(text)
    ):
        problems.append(f"{where}: went to {now!r}")
    return problems


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


def send_and_check(resident, step: Step, text: str, caplog, *, platform: str, refusals, replied) -> list[str]:
    """Send `text` at `step` through a channel's fake platform; what went wrong, if anything.

    `refusals(calls)`: what the platform refused among the calls made meanwhile, as text;
    `replied(calls)`: whether the resident got an answer it accepted."""
    before, first_call, first_record = counts(), len(resident.fake.calls), len(caplog.records)
    resident.say(text)
    made = resident.fake.calls[first_call:]
    where, problems = f"[{step.name}] {shown(text)}", []
    if refused := refusals(made):
        problems.append(f"{where}: {platform} refused {refused}")
    if not replied(made):
        problems.append(f"{where}: no reply in the chat")
    return problems + conversation_problems(
        where=where, step=step, text=text, resident=resident, caplog=caplog, first_record=first_record, before=before
    )


def walk(resident, step: Step, texts: list[str], check, *, start=lambda resident: resident.say("/start")) -> list[str]:
    """Send each text at `step` (re-entering it whenever a text moved the conversation on) and
    gather what `check(resident, step, text)` finds wrong: the walk every channel's corpus test
    takes, with the channel's own check of what its platform was sent."""
    problems: list[str] = []
    start(resident)
    if step.state and step.state.startswith("Submitting"):
        enter_serial(resident)
        resident.say(SERIAL)
    for text in texts:
        if state_of(resident) != step.state:
            step.enter(resident)
            assert state_of(resident) == step.state, f"could not get back to the {step.name} step"
        problems += check(resident, step, text)
    return problems


def counts() -> tuple[int, int]:
    return Reading.objects.count(), AccountLink.objects.count()


def shown(text: str) -> str:
    return repr(text if len(text) <= 60 else text[:60] + f"…({len(text)} chars)")
