"""Receipts and a reading's state: made by reading_submit, shown in the cabinet, the API and admin."""

import re

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings import selectors
from readings.models import Reading
from readings.receipts import receipt_display, receipt_normalize
from readings.services import reading_approve, reading_flag, reading_reject, reading_submit
from readings.states import State

pytestmark = pytest.mark.django_db

IN_DEC_WINDOW = kyiv(2026, 12, 2)  # window 27.11–03.12 (period 2026-12-01)
BEFORE_DEC_WINDOW = kyiv(2026, 11, 24)
AFTER_DEC_WINDOW = kyiv(2026, 12, 10)


@pytest.fixture
def resident(client):
    user = UserFactory()
    client.force_login(user)
    return user


@pytest.fixture
def meter(resident):
    meter = MeterFactory(account__number="123456789", serial="AB123", digits=5, initial_values=[1000])
    AccountLink.objects.create(user=resident, account=meter.account)
    return meter


def send(meter, text, *, when=IN_DEC_WINDOW, confirm=False, channel="web", user=None) -> Reading:
    return reading_submit(
        meter=meter, text=text, channel=channel, submitted_at=when, confirm=confirm, submitted_by=user
    )


def reviewer():
    user = UserFactory(is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    return user


def page(client, url: str, when=IN_DEC_WINDOW) -> str:
    with time_machine.travel(when, tick=False):
        response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def text_of(html: str) -> str:
    """What the resident reads: the page without tags (inline ones run on), whitespace folded."""
    return " ".join(re.sub(r"<[^>]+>", " ", re.sub(r"</?(strong|span)\b[^>]*>", "", html)).split())


# --- The code -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("48291307", "48291307"),
        ("4829-1307", "48291307"),
        (" 4829 1307 ", "48291307"),
        ("№4829-1307", "48291307"),
        ("4829–1307", "48291307"),
        ("4829-130", None),
        ("48291307 9", None),
        ("4829-13O7", None),
        ("٤٨٢٩١٣٠٧", None),  # digits of another script are not what the keypad types
        ("", None),
    ],
)
def test_a_receipt_is_found_in_what_a_person_types(typed, code):
    assert receipt_normalize(typed) == code


def test_every_reading_gets_its_own_eight_digit_receipt_shown_in_two_groups(meter):
    readings = [send(meter, str(1100 + n)) for n in range(20)]
    codes = {reading.receipt for reading in readings}
    assert len(codes) == 20
    assert all(re.fullmatch(r"\d{8}", code) for code in codes)
    reading = Reading.objects.get(pk=readings[0].pk)
    assert reading.receipt == readings[0].receipt  # kept as given
    assert re.fullmatch(r"\d{4}-\d{4}", receipt_display(reading.receipt))


def test_a_resend_in_the_window_remembers_which_reading_it_replaced(meter):
    first = send(meter, "1100")
    second = send(meter, "1150")
    assert second.replaces == first
    first.refresh_from_db()
    assert first.status == "superseded" and first.replaced_by == second
    control = send(meter, "1200", when=kyiv(2026, 12, 20))  # outside the window: replaces nothing
    assert control.replaces is None


# --- One state per reading -----------------------------------------------------------------------


def states_on(day, *readings):
    with time_machine.travel(day, tick=False):
        return [selectors.reading_state(Reading.objects.get(pk=r.pk)) for r in readings]


def test_each_reading_has_the_state_the_resident_is_told(meter):
    accepted = send(meter, "1100")
    other = MeterFactory(initial_values=[1000])
    held = send(other, "9000", confirm=True)
    third = MeterFactory(initial_values=[1000])
    rejected = send(third, "9000", confirm=True)
    reading_reject(reading_id=rejected.pk, reviewed_by=reviewer(), reason="Надішліть фото лічильника.")
    fourth = MeterFactory(initial_values=[1000])
    approved = send(fourth, "9000", confirm=True)
    reading_approve(reading_id=approved.pk, reviewed_by=reviewer())
    control = send(MeterFactory(initial_values=[1000]), "1100", when=BEFORE_DEC_WINDOW)
    replaced = send(MeterFactory(initial_values=[1000]), "1100")
    replacing = send(replaced.meter, "1120")
    states = states_on(IN_DEC_WINDOW, accepted, held, rejected, approved, control, replaced)
    assert [state.state for state in states] == [
        State.ACCEPTED,
        State.IN_REVIEW,
        State.REJECTED,
        State.APPROVED,
        State.CONTROL,
        State.SUPERSEDED,
    ]
    accepted_s, held_s, rejected_s, approved_s, control_s, replaced_s = states
    assert accepted_s.text == "Прийнято: зараховано на 01.12.2026."
    assert held_s.detail.startswith("Споживання значно більше, ніж зазвичай")
    assert held_s.next_step.endswith("надішліть правильні до 03.12.2026.")
    assert rejected_s.text == "Відхилено фахівцями. Причина: Надішліть фото лічильника."
    assert rejected_s.next_step == "Перевірте лічильник і надішліть показання ще раз до 03.12.2026."
    assert approved_s.title == "Перевірено фахівцями й прийнято: зараховано на 01.12.2026"
    assert control_s.title.startswith("Збережено як контрольні")
    assert replaced_s.replaced_by == replacing
    assert replaced_s.detail == f"Замінено показаннями 1120, квитанція {receipt_display(replacing.receipt)}."


def test_after_the_window_a_rejected_reading_sends_the_resident_to_the_contact_centre(meter):
    rejected = send(meter, "9000", confirm=True)
    reading_reject(reading_id=rejected.pk, reviewed_by=reviewer(), reason="Не та зона.")
    (state,) = states_on(AFTER_DEC_WINDOW, rejected)
    assert state.resend_until is None
    assert state.next_step == "Прийом показань за цей період завершено: зателефонуйте в контакт-центр."


def test_a_reading_staff_flagged_says_what_staff_asked(meter):
    reading = send(meter, "1100")
    reading_flag(reading_id=reading.pk, flagged_by=reviewer(), note="Уточніть зону.")
    (state,) = states_on(IN_DEC_WINDOW, reading)
    assert state.state == State.IN_REVIEW and state.detail == "Фахівці попросили перевірити: Уточніть зону."


def test_a_reading_an_export_batch_carried_is_passed_to_billing(meter):
    # The export batches annotate `exported_at` (selectors.readings_with_export); the state reads it.
    reading = send(meter, "1100")
    reading.exported_at = IN_DEC_WINDOW
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        state = selectors.reading_state(reading)
    assert state.state == State.BILLED and state.title == "Передано в білінг: зараховано на 01.12.2026"


# --- The cabinet ---------------------------------------------------------------------------------


def test_a_rejected_reading_of_the_window_is_the_first_thing_the_dashboard_shows(client, meter):
    send(meter, "1100", when=kyiv(2026, 11, 2))  # October's window... kept as the last accepted one
    rejected = send(meter, "9000", confirm=True, user=meter.account.links.get().user)
    reading_reject(reading_id=rejected.pk, reviewed_by=reviewer(), reason="Надішліть фото лічильника.")
    shown = text_of(page(client, "/"))
    first = shown.index("Лічильник AB123: Відхилено фахівцями")
    assert first < shown.index("Прийом показань: 27.11–03.12")
    assert "Показання 9000, надіслані 02.12.2026 12:00." in shown
    assert f"Квитанція {receipt_display(rejected.receipt)}" in shown
    assert "Причина: Надішліть фото лічильника." in shown
    assert "Перевірте лічильник і надішліть показання ще раз до 03.12.2026." in shown
    assert f'href="/accounts/{meter.account.number}/"' in page(client, "/")


def test_a_held_reading_is_first_on_the_account_page_before_the_last_accepted_one(client, meter):
    send(meter, "1100", when=kyiv(2026, 11, 2))
    send(meter, "9000", confirm=True)
    shown = text_of(page(client, f"/accounts/{meter.account.number}/"))
    assert shown.index("Лічильник AB123: На перевірці у фахівців") < shown.index("Прийом показань")
    assert "Споживання значно більше, ніж зазвичай" in shown
    assert shown.index("Останні надіслані показання: 9000") < shown.index("Останні прийняті: 1100")


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda m: send(m, "1100"), "Останні надіслані показання: 1100 — Прийнято: зараховано на 01.12.2026."),
        (
            lambda m: send(m, "1100", when=BEFORE_DEC_WINDOW),
            "Останні надіслані показання: 1100 — Збережено як контрольні: не зараховуються за жоден місяць.",
        ),
    ],
)
def test_the_dashboard_and_account_page_give_the_windows_reading_and_its_receipt(client, meter, make, expected):
    reading = make(meter)
    for url in ("/", f"/accounts/{meter.account.number}/"):
        shown = text_of(page(client, url, when=IN_DEC_WINDOW if reading.status != "control" else BEFORE_DEC_WINDOW))
        assert f"{expected} Квитанція {receipt_display(reading.receipt)}." in shown
        assert "Відхилено" not in shown and "На перевірці" not in shown


def test_an_approved_reading_is_shown_as_checked_and_accepted(client, meter):
    held = send(meter, "9000", confirm=True)
    reading_approve(reading_id=held.pk, reviewed_by=reviewer())
    shown = text_of(page(client, "/"))
    assert "9000 — Перевірено фахівцями й прийнято: зараховано на 01.12.2026." in shown


def test_a_resend_says_on_the_outcome_which_reading_it_replaced(client, meter):
    with time_machine.travel(kyiv(2026, 12, 2, 9), tick=False):
        client.post(f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1100"})
    first = Reading.objects.get()
    with time_machine.travel(kyiv(2026, 12, 2, 10), tick=False):
        response = client.post(f"/accounts/{meter.account.number}/", {"meter": meter.pk, "t1": "1150"}, follow=True)
    second = Reading.objects.get(status="accepted")
    shown = text_of(response.content.decode())
    assert f"Квитанція {receipt_display(second.receipt)}. Назвіть її в контакт-центрі" in shown
    assert f"Замінюють показання 1100, надіслані 02.12.2026 (квитанція {receipt_display(first.receipt)})." in shown


def test_the_quick_form_says_a_reading_was_replaced_without_showing_it(client, meter):
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        send(meter, "1207")
        client.logout()
        form = {"account_number": "123456789", "meter_serial": "AB123", "reading": "1250"}
        response = client.post("/quick/", form, follow=True)
    shown = text_of(response.content.decode())
    assert "Замінюють показання, надіслані раніше в цьому вікні." in shown
    assert "1207" not in shown
    assert f"Квитанція {receipt_display(Reading.objects.get(value1=1250).receipt)}" in shown


def test_the_history_gives_each_readings_state_and_receipt(client, meter):
    first = send(meter, "1100", when=kyiv(2026, 12, 1))
    second = send(meter, "1150")
    shown = text_of(page(client, f"/accounts/{meter.account.number}/history/"))
    assert f"Замінено пізнішими показаннями. Замінено показаннями 1150, квитанція {second.receipt_display}." in shown
    assert f"Квитанція {first.receipt_display}." in shown
    assert f"Прийнято: зараховано на 01.12.2026. Квитанція {second.receipt_display}." in shown


# --- API ------------------------------------------------------------------------------------------


def test_the_api_gives_the_receipt_the_state_and_what_a_resend_replaced(resident, meter):
    api = APIClient()
    api.force_authenticate(resident)
    url = "/api/v1/accounts/123456789/readings/"
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        first = api.post(url, {"value": "1100"}, format="json").json()
        second = api.post(url, {"value": "1150"}, format="json").json()
        listed = api.get(url).json()["results"]
    assert re.fullmatch(r"\d{4}-\d{4}", first["receipt"])
    assert (first["state"], first["replaces"]) == ("accepted", None)
    assert (second["state"], second["replaces"]) == ("accepted", first["receipt"])
    newest, older = listed
    assert newest["receipt"] == second["receipt"] and newest["replaced_by"] is None
    assert (older["state"], older["replaced_by"]) == ("superseded", second["receipt"])
    assert (
        older["state_text"]
        == f"Замінено пізнішими показаннями. Замінено показаннями 1150, квитанція {second['receipt']}."
    )


def test_the_api_says_why_a_reading_was_rejected_and_what_to_do(resident, meter):
    rejected = send(meter, "9000", confirm=True)
    reading_reject(reading_id=rejected.pk, reviewed_by=reviewer(), reason="Надішліть фото.")
    api = APIClient()
    api.force_authenticate(resident)
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        (listed,) = api.get("/api/v1/accounts/123456789/readings/").json()["results"]
    assert listed["state"] == "rejected"
    assert listed["state_text"] == "Відхилено фахівцями. Причина: Надішліть фото."
    assert listed["next_step"] == "Перевірте лічильник і надішліть показання ще раз до 03.12.2026."


# --- Admin ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("typed", ["{code}", "{grouped}", "{spaced}", "№{grouped}"])
def test_staff_find_a_reading_by_its_receipt_as_the_resident_reads_it_out(client, meter, typed):
    wanted = send(meter, "1100")
    send(MeterFactory(initial_values=[1000]), "1100")
    operator = UserFactory(is_staff=True)
    operator.groups.add(Group.objects.get(name="operator"))
    client.force_login(operator)
    code = wanted.receipt
    term = typed.format(code=code, grouped=f"{code[:4]}-{code[4:]}", spaced=f"{code[:4]} {code[4:]}")
    response = client.get(reverse("admin:readings_reading_changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [wanted]
    assert f"{code[:4]}-{code[4:]}" in response.content.decode()


def test_the_review_queue_finds_a_held_reading_by_its_receipt(client, meter):
    held = send(meter, "9000", confirm=True)
    send(MeterFactory(initial_values=[1000]), "9000", confirm=True)
    client.force_login(reviewer())
    response = client.get(reverse("admin:readings_readingforreview_changelist"), {"q": held.receipt_display})
    assert [reading.pk for reading in response.context["cl"].result_list] == [held.pk]
