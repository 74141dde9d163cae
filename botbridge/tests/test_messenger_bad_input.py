"""Garbage through Messenger: every text of the corpus read by the webhook's parsing as a message,
a quick reply's payload and a postback's; and the part that tries what Messenger adds to the
engine (labels, empty-looking and NUL texts, maximum lengths, markup, typed commands) sent at
every step through the webhook: always a reply Messenger accepts, nothing saved that the step
may not save (see test_bad_input for the same through Telegram)."""

import dataclasses
import json
import logging

import pytest
import time_machine

from botbridge.channels.messenger import intake
from botbridge.conversation import Choice, Command, Text
from botbridge.tests import bad_input
from botbridge.tests import fake_graph as graph
from botbridge.tests.bad_input import (
    COMMANDS,
    CORPUS,
    EMPTY_LOOKING,
    HUGE_NUMBERS,
    IN_THE_WINDOW,
    LABELS,
    MARKUP,
    MAXIMUM_LENGTH,
    SCRIPTS_AND_SYMBOLS,
    STEPS,
    state_of,
    walk,
)
from botbridge.tests.messenger_chat import PSID, MessengerChat, texts

THROUGH_MESSENGER = list(
    dict.fromkeys(
        LABELS + EMPTY_LOOKING + MAXIMUM_LENGTH + MARKUP + SCRIPTS_AND_SYMBOLS[:6] + HUGE_NUMBERS[:1] + COMMANDS
    )
)


def test_the_whole_corpus_is_read_by_the_webhooks_parsing():
    for number, text in enumerate(CORPUS):
        # Through JSON, as it arrives.
        message, tapped, pressed = (
            json.loads(json.dumps(event))
            for event in (
                graph.message(PSID, text),
                graph.message(PSID, "x", quick_reply=text),
                graph.postback(PSID, text, with_mid=False),
            )
        )
        read = intake.incoming(message)
        assert read.event == (Text(text) if text else read.event) and read.sender == PSID, number
        for item in (intake.incoming(tapped), intake.incoming(pressed)):
            assert isinstance(item.event, Text | Command | Choice), number
            if isinstance(item.event, Choice):
                assert item.event.action in ("", *text[2:].split(":")[:1]), number


# In Messenger "/start" is a text like any other: the way back to rest is Get Started.
MESSENGER_STEPS = {
    **STEPS,
    "idle": dataclasses.replace(STEPS["idle"], enter=lambda resident: resident.postback("start")),
}


@pytest.fixture
def resident(db, client, messenger_settings, fake_graph) -> MessengerChat:
    return MessengerChat(client, fake_graph)


@pytest.mark.parametrize("step_name", list(MESSENGER_STEPS))
def test_every_message_gets_a_reply_messenger_accepts_and_saves_nothing(
    corpus_home, resident, fake_graph, caplog, step_name
):
    step = MESSENGER_STEPS[step_name]

    def check(resident: MessengerChat, step, text: str) -> list[str]:
        return bad_input.send_and_check(
            resident,
            step,
            text,
            caplog,
            platform="Messenger",
            refusals=lambda made: [call.response["error"]["message"] for call in made if not call.ok],
            replied=lambda made: any(
                call.edge == "messages" and call.ok and call.body["recipient"]["id"] == resident.psid for call in made
            ),
        )

    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        problems = walk(resident, step, THROUGH_MESSENGER, check, start=lambda resident: resident.postback("start"))
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
        assert len(fake_graph.sent(PSID)) > len(THROUGH_MESSENGER)
        if state_of(resident) != step.state:
            step.enter(resident)
        assert texts(resident.postback("help"))  # the conversation goes on
