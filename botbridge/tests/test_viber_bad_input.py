"""Garbage through the Viber webhook: every message of the corpus gets a valid reply and saves
nothing it may not; bodies that are not Viber callbacks get a 4xx (or a 200 for an event the
bot does not know), never a 500, and nothing is processed.

The whole corpus is read by the webhook's parsing; a few texts of each kind the adapter handles
(`THROUGH_TELEGRAM`: commands, labels, NUL, maximum lengths, markup) go through the webhook and
the fake Viber at every step. Viber adds button codes, which anyone can
type: forged ones are answered like stale buttons and show nothing of anybody's account.
"""

import json
import logging

import pytest
import time_machine

from accounts.models import ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge.channels.viber import handlers, intake
from botbridge.channels.viber.keyboards import PREFIX
from botbridge.conversation import Command, Text
from botbridge.models import ProcessedEvent
from botbridge.tests import bad_input
from botbridge.tests import fake_viber as callbacks
from botbridge.tests.bad_input import (
    ACCOUNT,
    CORPUS,
    IN_THE_WINDOW,
    STEPS,
    THROUGH_TELEGRAM,
    Step,
    counts,
    walk,
)
from botbridge.tests.viber_chat import USER_ID, ViberChat, said

FORGED = [
    f"{PREFIX}open:000000000",
    f"{PREFIX}open:{ACCOUNT}",
    f"{PREFIX}",
    f"{PREFIX}:",
    f"{PREFIX}unlink_yes:111111111",
    f"{PREFIX}meter:not-a-number",
    f"{PREFIX}meter:99999999999999999999999",
    f"{PREFIX}no-such-action:x",
    PREFIX * 3,
]


def test_the_whole_corpus_is_read_by_the_webhooks_parsing():
    """Each text as a message: the text itself (NUL mended, as PostgreSQL needs), or the
    command it starts with, typed the Telegram way."""
    commands = set()
    for number, text in enumerate(CORPUS):
        callback = intake.callback_parse(json.dumps(callbacks.message_callback(USER_ID, text)).encode())
        event, mended = handlers.event_of(callback), text.replace("\x00", "\ufffd")
        assert (callback.event, callback.user_id, callback.text) == ("message", USER_ID, mended), number
        if isinstance(event, Command):
            assert mended.split()[0].lower() == f"/{event.name}", (number, text, event)
            commands.add(text)
        else:
            assert event == Text(mended), (number, text, event)
    assert {"/start", "/START", "/cancel extra"} <= commands
    assert not {"/start@other_bot", "/ start", "/unknown"} & commands


def send_and_check(resident: ViberChat, step: Step, text: str, caplog) -> list[str]:
    return bad_input.send_and_check(
        resident,
        step,
        text,
        caplog,
        platform="Viber",
        refusals=lambda made: [
            f"{call.method} -> {call.status} {call.response.get('status_message')}" for call in made if call.status
        ],
        replied=lambda made: any(call.method == "send_message" and call.status == 0 for call in made),
    )


@pytest.mark.parametrize("step_name", list(STEPS))
def test_every_message_of_the_corpus_gets_a_valid_reply_and_saves_nothing(
    corpus_home, viber_resident, caplog, step_name
):
    step, resident = STEPS[step_name], viber_resident
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        problems = walk(resident, step, THROUGH_TELEGRAM, lambda *sent: send_and_check(*sent, caplog))
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


def test_forged_button_codes_are_answered_and_show_nobody_elses_account(corpus_home, viber_resident):
    MeterFactory(account__number="111111111", account__address="вул. Чужа, 7", serial="ZZ1")
    before = counts()
    for text in FORGED:
        calls = viber_resident.say(text)
        assert calls and all(call.status == 0 for call in calls), (text, calls)
        assert "Чужа" not in said(calls) and "ZZ1" not in said(calls)
    assert counts() == before


def signed(fake, client, body: bytes):
    return client.post(
        "/viber/webhook/",
        data=body,
        content_type="application/json",
        headers={"X-Viber-Content-Signature": callbacks.sign(body, fake.token)},
    )


def message_with(**changes) -> dict:
    callback = callbacks.message_callback(USER_ID, "Допомога")
    for path, value in changes.items():
        *parents, key = path.split("__")
        node = callback
        for parent in parents:
            node = node[parent]
        if value is ...:
            del node[key]
        else:
            node[key] = value
    return callback


MALFORMED = {
    "empty": b"",
    "not JSON": b"{event: message}",
    "not UTF-8": b'{"event": "\xff\xfe"}',
    "a list": b"[]",
    "a string": b'"message"',
    "null": b"null",
    "deep": b"[" * 100_000 + b"]" * 100_000,
    "no event": json.dumps({"timestamp": 1}).encode(),
    "event not text": json.dumps({"event": 5}).encode(),
    "no token": json.dumps(message_with(message_token=...)).encode(),
    "token true": json.dumps(message_with(message_token=True)).encode(),
    "token object": json.dumps(message_with(message_token={"a": 1})).encode(),
    "no sender": json.dumps(message_with(sender=...)).encode(),
    "sender a list": json.dumps(message_with(sender=[1])).encode(),
    "sender id a number": json.dumps(message_with(sender__id=12345)).encode(),
    "sender id empty": json.dumps(message_with(sender__id="")).encode(),
    "sender id too long": json.dumps(message_with(sender__id="A" * 65)).encode(),
    "sender id with NUL": json.dumps(message_with(sender__id="K917\x00")).encode(),
    "name a number": json.dumps(message_with(sender__name=7)).encode(),
    "no message": json.dumps(message_with(message=...)).encode(),
    "no message type": json.dumps(message_with(message__type=...)).encode(),
    "text a number": json.dumps(message_with(message__text=1250)).encode(),
    "started without user": json.dumps({**callbacks.conversation_started(USER_ID), "user": None}).encode(),
    "unsubscribed without user": json.dumps({**callbacks.unsubscribed(USER_ID), "user_id": ["x"]}).encode(),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_a_body_that_is_not_a_viber_callback_is_refused_with_400(db, client, viber_settings, fake_viber, name, caplog):
    with caplog.at_level(logging.WARNING):
        answer = signed(fake_viber, client, MALFORMED[name])
    assert answer.status_code == 400 and answer.json() == {"detail": "The body is not a Viber callback."}
    assert "malformed callback refused" in caplog.text
    assert (ProcessedEvent.objects.count(), ChannelIdentity.objects.count(), fake_viber.calls) == (0, 0, [])


@pytest.mark.parametrize(
    "callback",
    [
        {**callbacks.webhook_check(), "event": "client_status"},
        {"event": "action", "whatever": [1, 2, 3]},
        message_with(message__text="Допомога\x00", sender__name="Ма\x00рія"),
        message_with(message_token=10**40),
        message_with(message__type="sticker", message__text=None),
        message_with(sender__language=None, sender__name=None),
    ],
    ids=["unknown event", "unknown event, any shape", "NUL", "huge token", "sticker", "no name or language"],
)
def test_odd_but_readable_callbacks_are_answered_200(db, client, viber_settings, fake_viber, callback):
    fake_viber.add_user(USER_ID)
    answer = signed(fake_viber, client, json.dumps(callback).encode())
    assert answer.status_code == 200
    assert all(call.status == 0 for call in fake_viber.calls)
