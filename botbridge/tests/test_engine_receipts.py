"""Receipts and states in the bot's words (the engine: Telegram, Viber and Messenger say the same)."""

import pytest
import time_machine
from django.contrib.auth.models import Group

from accounts.models import Meter
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import texts
from botbridge.tests.engine_chat import EngineChat, said
from readings.models import Reading
from readings.services import reading_approve, reading_reject

IN_WINDOW = "2026-11-28 10:00 +02:00"
LATER_IN_WINDOW = "2026-11-28 11:30 +02:00"


@pytest.fixture
def home(db) -> Meter:
    return MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[1000])


@pytest.fixture
def resident(home) -> EngineChat:
    chat = EngineChat()
    with time_machine.travel(IN_WINDOW, tick=True):
        chat.say("Додати особовий рахунок")
        chat.say("123456789")
        chat.say("AB123")
    return chat


def send(resident: EngineChat, text: str, *, confirm: bool = False) -> str:
    resident.say("Мої особові рахунки")
    resident.press("123456789")  # one meter: the card asks for its reading straight away
    answer = said(resident.say(text))
    if confirm:
        answer = said(resident.press("Так"))
    return answer


def reviewer():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    return user


def test_the_recorded_reply_gives_the_receipt_to_quote(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        recorded = send(resident, "1100")
    reading = Reading.objects.get()
    assert f"Квитанція {reading.receipt_display}. Назвіть її в контакт-центрі" in recorded
    assert "Замінюють" not in recorded


def test_a_resend_in_the_window_says_which_reading_it_replaces(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "1100")
    with time_machine.travel(LATER_IN_WINDOW, tick=True):
        recorded = send(resident, "1150")
    first, second = Reading.objects.order_by("submitted_at")
    assert "Показання прийнято: 1150" in recorded
    assert f"Квитанція {second.receipt_display}." in recorded
    assert f"Замінюють показання 1100, надіслані 28.11.2026 (квитанція {first.receipt_display})." in recorded


def test_a_control_reading_has_a_receipt_too(resident):
    with time_machine.travel("2026-11-24 10:00 +02:00", tick=True):
        recorded = send(resident, "1100")
    assert "контрольні" in recorded and f"Квитанція {Reading.objects.get().receipt_display}" in recorded


def test_the_account_card_puts_a_rejected_reading_with_its_reason_and_what_to_do_first(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "9000", confirm=True)
        held = Reading.objects.get()
        reading_reject(reading_id=held.pk, reviewed_by=reviewer(), reason="Надішліть фото лічильника.")
        resident.say("Мої особові рахунки")
        _notice, card, _ask = resident.press("123456789")
    assert (
        "Останні надіслані показання: 9000, 28.11.2026. Відхилено фахівцями. Причина: Надішліть фото лічильника. "
        f"Квитанція {held.receipt_display}.\n"
        "Перевірте лічильник і надішліть показання ще раз до 03.12.2026."
    ) in card.text
    assert card.text.index("Останні надіслані") < card.text.index("Прийнятих показань ще немає.")


def test_the_account_card_says_a_held_reading_waits_for_staff(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "9000", confirm=True)
        resident.say("Мої особові рахунки")
        _notice, card, _ask = resident.press("123456789")
    assert "9000, 28.11.2026. На перевірці у фахівців. Споживання значно більше, ніж зазвичай" in card.text
    assert "Нічого робити не треба: ми повідомимо, коли фахівці перевірять." in card.text


def test_an_accepted_reading_is_said_once_on_the_card(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "1100")
        resident.say("Мої особові рахунки")
        _notice, card, _ask = resident.press("123456789")
    assert "1100, 28.11.2026. Прийнято: зараховано на 01.12.2026." in card.text
    assert "Останні прийняті показання" not in card.text  # the same reading, not said twice


def test_the_history_gives_each_state_and_receipt(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "1100")
    with time_machine.travel(LATER_IN_WINDOW, tick=True):
        send(resident, "1150")
        resident.say("Мої особові рахунки")
        resident.press("123456789")
        _notice, history = resident.press("Останні показання")
    first, second = Reading.objects.order_by("submitted_at")
    assert (
        f"28.11.2026 · 1150 · Прийнято: зараховано на 01.12.2026 · Telegram · Квитанція {second.receipt_display}"
    ) in history.text
    assert (
        "28.11.2026 · 1100 · Замінено пізнішими показаннями. "
        f"Замінено показаннями 1150, квитанція {second.receipt_display} · Telegram · Квитанція {first.receipt_display}"
    ) in history.text


def test_the_review_notice_gives_the_receipt(resident):
    with time_machine.travel(IN_WINDOW, tick=True):
        send(resident, "9000", confirm=True)
        reading = reading_approve(reading_id=Reading.objects.get().pk, reviewed_by=reviewer())
    assert texts.review_outcome(Reading.objects.select_related("meter__account").get(pk=reading.pk)).endswith(
        f"Квитанція {reading.receipt_display}."
    )
