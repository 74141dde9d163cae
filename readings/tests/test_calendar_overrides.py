"""The working calendar's overrides: through a service with an audit trail, and a change that
moves the current readings window is said, with the old and new dates, before it is saved."""

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.tests.factories import UserFactory
from conftest import kyiv
from readings.errors import DateOutOfRange, WindowMoveConfirmation
from readings.models import CalendarOverride
from readings.services import calendar_override_delete, calendar_override_save

pytestmark = pytest.mark.django_db

# Tuesday 24.11.2026: December's window, the next to open, is Friday 27.11 – Thursday 03.12.
BEFORE_DECEMBER = kyiv(2026, 11, 24, 10)
FRIDAY = dt.date(2026, 11, 27)
MOVE = "зараз 27.11.2026–03.12.2026 (показання на 01.12.2026), після зміни 26.11.2026–03.12.2026"


@pytest.fixture
def supervisor(client):
    user = UserFactory(username="olena", is_staff=True)
    user.groups.add(Group.objects.get(name="supervisor"))
    client.force_login(user)
    return user


@pytest.fixture
def before_december():
    with time_machine.travel(BEFORE_DECEMBER, tick=False):
        yield


def add(client, **fields):
    data = {"date": "2026-11-27", "note": "День енергетика", "_save": "Зберегти", **fields}
    return client.post(reverse("admin:readings_calendaroverride_add"), data)


def test_a_change_that_moves_the_window_is_refused_until_confirmed(supervisor, before_december):
    with pytest.raises(WindowMoveConfirmation) as asked:
        calendar_override_save(date=FRIDAY, is_working=False, saved_by=supervisor)
    assert MOVE in asked.value.message
    assert not CalendarOverride.objects.exists()
    override = calendar_override_save(date=FRIDAY, is_working=False, saved_by=supervisor, confirm=True)
    assert (override.date, override.is_working) == (FRIDAY, False)


def test_a_change_far_from_the_window_is_saved_at_once(supervisor, before_december):
    calendar_override_save(date=dt.date(2027, 3, 9), is_working=False, saved_by=supervisor)
    assert CalendarOverride.objects.get().date == dt.date(2027, 3, 9)


def test_the_calendar_services_leave_an_audit_trail(supervisor, before_december):
    override = calendar_override_save(date=FRIDAY, is_working=False, saved_by=supervisor, confirm=True)
    other = UserFactory(username="petro", is_staff=True)
    calendar_override_save(
        date=FRIDAY, is_working=True, note="Робочий", saved_by=other, override_id=override.pk, confirm=True
    )
    calendar_override_delete(override_id=override.pk, deleted_by=supervisor, confirm=True)
    history = CalendarOverride.history.filter(id=override.pk).order_by("history_id")
    assert [(h.history_type, h.is_working, h.history_user.username) for h in history] == [
        ("+", False, "olena"),
        ("~", True, "petro"),
        ("-", True, "olena"),
    ]


def test_a_date_outside_the_reckoned_years_is_refused(supervisor):
    with pytest.raises(DateOutOfRange):
        calendar_override_save(date=dt.date(2200, 1, 1), is_working=False, saved_by=supervisor)


def test_admin_asks_before_a_new_override_moves_the_window(client, supervisor, before_december):
    asked = add(client)
    page = asked.content.decode()
    assert asked.status_code == 200
    assert MOVE in page
    assert "Зберегти й перенести прийом" in page
    assert reverse("admin:readings_calendaroverride_changelist") in page  # the way back, nothing saved
    assert not CalendarOverride.objects.exists()

    saved = add(client, confirm_move="1")
    assert saved.status_code == 302
    override = CalendarOverride.objects.get()
    assert (override.date, override.is_working, override.note) == (FRIDAY, False, "День енергетика")
    assert override.history.get().history_user == supervisor
    listing = client.get(saved["Location"]).content.decode()
    assert '27.11.2026 (вихідний)</a>" було додано успішно.' in listing
    assert "Пт 27.11.2026" not in listing and "Чт 26.11.2026" in listing  # December's window now opens Thursday


def test_admin_asks_before_a_changed_override_moves_the_window_back(client, supervisor, before_december):
    override = calendar_override_save(date=FRIDAY, is_working=False, saved_by=supervisor, confirm=True)
    url = reverse("admin:readings_calendaroverride_change", args=[override.pk])
    data = {"date": "2026-11-27", "is_working": "on", "note": "", "_save": "Зберегти"}
    page = client.post(url, data).content.decode()
    assert "зараз 26.11.2026–03.12.2026 (показання на 01.12.2026), після зміни 27.11.2026–03.12.2026" in page
    assert CalendarOverride.objects.get().is_working is False
    client.post(url, {**data, "confirm_move": "1"})
    assert CalendarOverride.objects.get().is_working is True


def test_an_override_that_moves_nothing_is_saved_without_a_question(client, supervisor, before_december):
    response = add(client, date="2027-03-09")
    assert response.status_code == 302
    assert CalendarOverride.objects.get().date == dt.date(2027, 3, 9)


def test_staff_who_chose_english_get_the_calendar_in_english(client, supervisor, before_december):
    client.cookies["django_language"] = "en"
    assert "This change moves the readings window: now 27.11.2026–03.12.2026" in add(client).content.decode()
    listing = client.get(add(client, date="2027-03-09")["Location"]).content.decode()
    assert "09.03.2027 (day off)</a>” was added successfully." in listing


def test_removing_an_override_names_the_window_it_moves_and_goes_through_the_service(
    client, supervisor, before_december
):
    override = calendar_override_save(date=FRIDAY, is_working=False, saved_by=supervisor, confirm=True)
    url = reverse("admin:readings_calendaroverride_delete", args=[override.pk])
    assert "зараз 26.11.2026–03.12.2026" in client.get(url).content.decode()
    client.post(url, {"post": "yes"})
    assert not CalendarOverride.objects.exists()
    assert CalendarOverride.history.filter(history_type="-").get().history_user == supervisor


def test_overrides_are_not_removed_in_bulk(client, supervisor, before_december):
    calendar_override_save(date=dt.date(2027, 3, 9), is_working=False, saved_by=supervisor)
    page = client.get(reverse("admin:readings_calendaroverride_changelist")).content.decode()
    assert "delete_selected" not in page
