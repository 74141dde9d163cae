"""The bad-input corpus at every step, sent straight to the conversation engine (no HTTP, no
aiogram): every message is answered, validly, and saves nothing. test_bad_input sends the
same corpus through the webhook and the fake Bot API."""

import logging

import pytest
import time_machine

from accounts.models import AccountLink
from botbridge.conversation import Menu, Notice, Reply
from botbridge.tests.bad_input import (
    ACCOUNT,
    CORPUS,
    IN_THE_WINDOW,
    SERIAL,
    STEPS,
    UNUSUAL,
    Step,
    conversation_problems,
    counts,
    shown,
    state_of,
    walk,
)
from botbridge.tests.engine_chat import EngineChat, said
from botbridge.tests.fake_bot_api import MAX_TEXT_LENGTH
from readings.models import Reading


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def send_and_check(resident: EngineChat, step: Step, text: str, caplog) -> list[str]:
    """Send `text` at `step`; what went wrong, if anything."""
    problems, where = [], f"[{step.name}] {shown(text)}"
    before_counts, first_record = counts(), len(caplog.records)
    answers = resident.say(text)
    messages = [answer for answer in answers if isinstance(answer, Reply) and not answer.replaces]
    if not messages or not all(answer.text and answer.text.strip() for answer in messages):
        problems.append(f"{where}: no reply, or an empty one: {answers}")
    if any(utf16_length(answer.text or "") > MAX_TEXT_LENGTH for answer in messages):
        problems.append(f"{where}: a reply longer than a message may be")
    if any(isinstance(answer, Notice) for answer in answers):
        problems.append(f"{where}: a notice answers a chosen option, not a text")
    if any(isinstance(answer.options, Menu) and not answer.options.rows for answer in messages):
        problems.append(f"{where}: an empty menu")
    return problems + conversation_problems(
        where=where,
        step=step,
        text=text,
        resident=resident,
        caplog=caplog,
        first_record=first_record,
        before=before_counts,
    )


# The corpus in slices, so that each test stays well under a second and a failure names its slice.
SLICE = 25
SLICES = range(0, len(CORPUS), SLICE)


@pytest.mark.parametrize("first", SLICES, ids=lambda first: f"{first}-{min(first + SLICE, len(CORPUS)) - 1}")
@pytest.mark.parametrize("step_name", list(STEPS))
def test_every_message_of_the_corpus_gets_a_valid_answer_from_the_engine(corpus_home, caplog, step_name, first):
    step, resident = STEPS[step_name], EngineChat()
    with time_machine.travel(IN_THE_WINDOW, tick=True), caplog.at_level(logging.WARNING):
        texts = CORPUS[first : first + SLICE]
        problems = walk(resident, step, texts, lambda *sent: send_and_check(*sent, caplog))
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)
        the_conversation_goes_on(resident, step)


def the_conversation_goes_on(resident: EngineChat, step: Step) -> None:
    if state_of(resident) != step.state:
        step.enter(resident)
    if step.name == "idle":
        assert "Вітаю, Марія" in said(resident.say("/start"))
    elif step.name == "account number":
        assert "на самому лічильнику" in said(resident.say(ACCOUNT))
    elif step.name == "meter serial":
        reply = said(resident.say(SERIAL))
        assert f"{ACCOUNT} додано" in reply or f"{ACCOUNT} уже є у вашому списку" in reply
        assert AccountLink.objects.filter(user=resident.user).count() == 1
    elif step.name == "reading":
        assert "Показання прийнято: 1250" in said(resident.say("1250"))
    else:
        assert UNUSUAL in said(resident.press("Так"))
        assert Reading.objects.filter(value1=int(UNUSUAL), status=Reading.Status.NEEDS_REVIEW).count() == 1
