"""Periods in the bot's words, as the utility's bills name them: the reading "на 01.12.2026"
closes the consumption "за листопад 2026". Through the engine, the way a resident meets them."""

import time_machine
from django.utils import translation

from accounts.tests.factories import MeterFactory
from botbridge import texts
from botbridge.tests.engine_chat import EngineChat, said
from conftest import kyiv
from readings.models import Reading
from readings.services import reading_reject, reading_submit

IN_WINDOW = "2026-11-28 10:00 +02:00"  # the window 27.11–03.12: readings as of 01.12.2026
DECEMBER = "показання на 01.12.2026 — споживання за листопад 2026"


def linked(chat: EngineChat, *, number: str = "123456789", serial: str = "AB123", **meter_fields):
    meter = MeterFactory(account__number=number, serial=serial, digits=5, **meter_fields)
    chat.say("Add personal account" if chat.language == "en" else "Додати особовий рахунок")
    chat.say(number)
    chat.say(serial)
    return meter


def test_a_reading_sent_in_the_bot_is_confirmed_as_the_consumption_of_the_month_before(db):
    resident = EngineChat()
    linked(resident, initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        resident.say("Мої особові рахунки")
        card = said(resident.press("123456789"))
        recorded = said(resident.say("1100"))
    assert f"{DECEMBER[0].upper()}{DECEMBER[1:]}." in card  # which reading the window takes
    assert "Показання прийнято: 1100." in recorded
    assert f"Це {DECEMBER}." in recorded
    assert "грудень" not in recorded.lower()


def test_the_bots_history_groups_readings_by_the_month_of_use(db):
    resident = EngineChat()
    meter = linked(resident, initial_values=[1000])
    reading_submit(meter=meter, text="1050", channel="web", submitted_at=kyiv(2026, 10, 30))
    reading_submit(meter=meter, text="1090", channel="telegram", submitted_at=kyiv(2026, 11, 27))
    with time_machine.travel(IN_WINDOW, tick=True):
        reading_submit(meter=meter, text="1100", channel="telegram")
        resident.say("Мої особові рахунки")
        resident.press("123456789")
        history = said(resident.press("Останні показання"))
    lines = history.splitlines()
    november = lines.index("Показання на 01.12.2026 — споживання за листопад 2026:")
    october = lines.index("Показання на 01.11.2026 — споживання за жовтень 2026:")
    assert november < october  # the newest month first
    assert [line.split(" · ")[1] for line in lines[november + 1 : october] if line] == ["1100", "1090"]
    value, state, channel, receipt = lines[october + 1].split(" · ")[1:]
    assert (value, state, channel) == ("1050", "Прийнято: зараховано на 01.11.2026", "особистий кабінет")
    assert receipt.startswith("Квитанція ")


def test_the_bot_speaks_of_the_consumption_month_in_english_too(db):
    resident = EngineChat(language="en", name="Mary")
    linked(resident, initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        resident.say("My personal accounts")
        resident.press("123456789")
        recorded = said(resident.say("1100"))
        helped = said(resident.say("/help"))
    assert "It is the reading as of 01.12.2026 — consumption for November 2026." in recorded
    assert "the reading as of 01.12 is the consumption for November" in helped
    assert "Reading as of 01.12.2026 — consumption for November 2026." in helped


def test_a_review_decision_names_the_reading_and_the_month_of_use(db, django_user_model):
    meter = MeterFactory(account__number="123456789", initial_values=[1000])
    with time_machine.travel(IN_WINDOW, tick=True):
        reading = reading_submit(meter=meter, text="9000", channel="telegram", confirm=True)
        reading = reading_reject(
            reading_id=reading.pk, reviewed_by=django_user_model.objects.create(username="op"), reason="Фото?"
        )
    assert reading.status == Reading.Status.REJECTED
    with translation.override("uk"):
        told = texts.review_outcome(reading)
    assert told.startswith(f"Працівники перевірили ваші показання 9000, {DECEMBER} (рахунок 123456789)")
