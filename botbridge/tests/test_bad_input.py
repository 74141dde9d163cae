"""Garbage at every step of the conversation: the bot always answers, validly, and saves nothing.

The whole corpus is read by the webhook's parsing, as a message would be. Then one resident
per test walks to a step (idle, account number, meter serial, reading, Так/Ні) and sends a
few texts of each kind there (`THROUGH_TELEGRAM`: commands, labels, NUL and empty-looking
texts, maximum lengths, markup; test_engine_bad_input sends the whole corpus to the engine
at every step), one message after another, through the webhook; when a
message legitimately moves the conversation on (a command, a menu button, valid input),
the resident walks back to the step before the next message. Problems are collected and
reported together, so one bad reply does not hide the others.
"""

import asyncio
import json
import logging
import re
from dataclasses import dataclass

import pytest
import time_machine

from accounts.models import AccountLink, ChannelIdentity, Meter
from accounts.tests.factories import MeterFactory
from botbridge.channels.telegram.dispatcher import bot_create
from botbridge.channels.telegram.handlers import event_of
from botbridge.channels.telegram.intake import update_parse
from botbridge.conversation import Command, Text
from botbridge.tests import bad_input, updates
from botbridge.tests.bad_input import (
    ACCOUNT,
    ADDRESS,
    CORPUS,
    IN_THE_WINDOW,
    SERIAL,
    STEPS,
    THROUGH_TELEGRAM,
    UNUSUAL,
    Step,
    enter_reading,
    enter_serial,
    state_of,
    walk,
)
from botbridge.tests.chat import Conversation, close_quickly, texts, webhook_deliver
from botbridge.tests.fake_bot_api import BOT_USERNAME, MAX_TEXT_LENGTH, Call
from readings.models import Reading


def test_the_corpus_is_big_varied_and_deliverable():
    assert len(CORPUS) >= 200
    assert set(THROUGH_TELEGRAM) <= set(CORPUS)
    kinds = (bad_input.COMMANDS, bad_input.LABELS, bad_input.EMPTY_LOOKING, bad_input.MAXIMUM_LENGTH, bad_input.MARKUP)
    assert all(len(set(kind) & set(THROUGH_TELEGRAM)) >= 3 for kind in kinds)
    assert len(set(CORPUS)) == len(CORPUS)
    utf16_lengths = [len(text.encode("utf-16-le")) // 2 for text in CORPUS]
    assert utf16_lengths.count(MAX_TEXT_LENGTH) >= 6
    assert [text for text, length in zip(CORPUS, utf16_lengths, strict=True) if length > MAX_TEXT_LENGTH] == [
        "9" * 5000  # longer than Telegram delivers, in case a client or a proxy does not split it
    ]
    assert not any(0xD800 <= ord(char) <= 0xDFFF for text in CORPUS for char in text)
    planes = {ord(char) >> 16 for text in CORPUS for char in text}
    assert planes == set(range(17))


def test_the_whole_corpus_is_read_by_the_webhooks_parsing(bot_settings, fake_bot_api):
    """Each text as a message: the text itself (NUL mended, as PostgreSQL needs), or the
    command it starts with when it is one of this bot's, as Telegram clients write them."""
    bot = bot_create()

    async def read(text: str):
        return await event_of(update_parse(json.dumps(updates.message(text)).encode()).message, bot)

    async def read_all() -> list:
        try:
            return [await read(text) for text in CORPUS]
        finally:
            await close_quickly(bot)

    commands = set()
    for number, (text, event) in enumerate(zip(CORPUS, asyncio.run(read_all()), strict=True)):
        mended = text.replace("\x00", "\ufffd")
        if isinstance(event, Command):
            assert re.match(rf"/{event.name}(@{BOT_USERNAME})?(\s|$)", mended), (number, text, event)
            commands.add(text)
        else:
            assert event == Text(mended), (number, text, event)
    assert {"/start", "/start@pokaznyk_test_bot", "/cancel extra"} <= commands
    assert not {"/START", "/start@other_bot", "/ start", "/unknown"} & commands


def send_and_check(resident: Conversation, step: Step, text: str, caplog) -> list[str]:
    """Send `text` at `step` through the webhook; what went wrong, if anything."""
    return bad_input.send_and_check(
        resident,
        step,
        text,
        caplog,
        platform="the Bot API",
        refusals=lambda made: [
            f"{call.method} -> {call.status} {call.response.get('description')}" for call in made if call.status != 200
        ],
        replied=lambda made: any(
            call.method == "sendMessage" and call.params.get("chat_id") == resident.user_id and call.status == 200
            for call in made
        ),
    )


@pytest.mark.parametrize("step_name", list(STEPS))
def test_every_message_of_the_corpus_gets_a_valid_reply_and_saves_nothing(
    corpus_home, webhook_resident, caplog, step_name
):
    step, resident = STEPS[step_name], webhook_resident
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        problems = walk(resident, step, THROUGH_TELEGRAM, lambda *sent: send_and_check(*sent, caplog))
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
        assert AccountLink.objects.filter(user__channel_identities__external_id=str(resident.user_id)).count() == 1
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
    assert not Reading.objects.filter(submitted_by__channel_identities__external_id=str(resident.user_id)).exists()
    assert not AccountLink.objects.filter(user__channel_identities__external_id=str(resident.user_id)).exists()
    link = AccountLink.objects.get(account__number=ACCOUNT)
    assert (link.user.channel_identities.get(channel="telegram").external_id, link.reminders_enabled) == (
        str(owner.user_id),
        True,
    )


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
    assert (link.user.channel_identities.get(channel="telegram").external_id, link.reminders_enabled) == (
        str(replay.owner.user_id),
        True,
    )
    assert Reading.objects.get().submitted_by.channel_identities.get().external_id == str(replay.owner.user_id)
    assert not ChannelIdentity.objects.get(
        channel="telegram", external_id=str(replay.stranger.user_id)
    ).user.account_links.exists()


def test_every_button_of_someone_elses_account_tells_the_stranger_it_no_longer_works(replay):
    """As a button of an account the resident has since removed: the account is not in their list."""
    not_stale = {
        data: replay.replies[data]
        for data, answer in replay.answers.items()
        if not data.startswith(("acc:menu", "acc:list"))  # the stranger's own (empty) list is theirs to see
        and not (answer.params.get("show_alert") is True and "Ця кнопка вже не діє" in answer.params.get("text", ""))
    }
    assert not_stale == {}
