"""What one reading costs the database, and that the savings change nothing a resident or staff see:
the window follows every change of the calendar at once, the usual use and the audit trail are
what they were."""

import datetime as dt
import threading

import pytest
import time_machine
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.linking import account_link
from accounts.tests.factories import MeterFactory, UserFactory
from accounts.tokens import api_token_issue
from conftest import kyiv
from readings import selectors
from readings.models import CalendarOverride, Reading
from readings.services import calendar_override_delete, calendar_override_save, reading_submit

pytestmark = pytest.mark.django_db

D = dt.date
IN_DEC_WINDOW = "2026-11-28 10:00 +02:00"  # window 27.11–03.12, period 2026-12-01
# On PostgreSQL the reading and its audit row are one statement (readings.audit).
AUDIT_ROUND_TRIPS = 0 if connection.vendor == "postgresql" else 1


@pytest.fixture
def token_client():
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    user = UserFactory(username="maria")
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    _token, key = api_token_issue(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def sql_of(queries: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in queries.captured_queries]


def test_an_api_reading_takes_seven_statements(token_client):
    """Token, account link and meter, then the meter's lock (with the calendar's stamp), the readings
    it is weighed against, the INSERT with its audit row; the transaction's begin and end."""
    selectors.window_on(D(2026, 11, 28))  # this process has worked the window out before
    with time_machine.travel(IN_DEC_WINDOW, tick=False), CaptureQueriesContext(connection) as queries:
        answer = token_client.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json")
    assert answer.status_code == 201
    assert answer.json()["consumption"] == [250]
    assert len(queries) <= 7 + AUDIT_ROUND_TRIPS, "\n".join(sql_of(queries))
    assert not any("readings_calendaroverride" in sql for sql in sql_of(queries))  # the window is remembered


def test_an_api_reading_with_an_unknown_account_is_still_not_linked(token_client):
    answer = token_client.post("/api/v1/accounts/999999999/readings/", {"value": "1250"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_linked")
    answer = token_client.post("/api/v1/accounts/999999999/readings/", {"value": "x"}, format="json")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_linked")  # before what is wrong with the body


def test_an_api_reading_for_another_meter_names_the_meters(token_client):
    answer = token_client.post("/api/v1/accounts/123456789/readings/", {"value": "1250", "meter": "ZZ9"}, format="json")
    assert answer.status_code == 400
    assert "ZZ9" in answer.json()["detail"]


def test_a_revoked_token_is_refused_at_once(token_client):
    with time_machine.travel(IN_DEC_WINDOW, tick=False):
        assert token_client.delete("/api/v1/auth/token/").status_code == 204
        answer = token_client.post("/api/v1/accounts/123456789/readings/", {"value": "1250"}, format="json")
    assert answer.status_code == 401


def test_an_expired_token_is_refused_and_forgotten(token_client):
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=400), tick=False):
        answer = token_client.get("/api/v1/accounts/")
    assert answer.status_code == 401
    from knox.models import AuthToken

    assert not AuthToken.objects.exists()


# --- The window, remembered per calendar stamp ------------------------------------------------------


def test_a_calendar_change_by_staff_moves_the_remembered_window_at_once():
    staff = UserFactory(is_staff=True)
    day = D(2026, 11, 27)
    assert selectors.window_on(day).opens == D(2026, 11, 27)
    assert selectors.window_on(day).opens == D(2026, 11, 27)  # remembered
    override = calendar_override_save(date=day, is_working=False, saved_by=staff, confirm=True)
    assert selectors.window_on(day).opens == D(2026, 11, 26)
    calendar_override_delete(override_id=override.pk, deleted_by=staff, confirm=True)
    assert selectors.window_on(day).opens == D(2026, 11, 27)


def test_a_calendar_write_by_any_path_is_seen_at_once():
    """Not only the services: a bulk write, an UPDATE, a DELETE (the bench, a shell) change the stamp."""
    day = D(2026, 11, 27)
    assert selectors.window_on(day).opens == D(2026, 11, 27)
    CalendarOverride.objects.bulk_create([CalendarOverride(date=day, is_working=False)])
    assert selectors.window_on(day).opens == D(2026, 11, 26)
    CalendarOverride.objects.filter(date=day).update(is_working=True)
    assert selectors.window_on(day).opens == D(2026, 11, 27)
    CalendarOverride.objects.filter(date=day).delete()
    CalendarOverride.objects.bulk_create([CalendarOverride(date=D(2026, 11, 30), is_working=False)])
    assert selectors.window_on(day).opens == D(2026, 11, 26)  # Monday off: Thursday and Friday before the 1st


@pytest.mark.django_db(transaction=True)
def test_a_calendar_change_committed_by_another_process_is_seen_at_once():
    """Another process is another connection: its committed change reaches this process's
    remembered window through the stamp, with no message between the processes."""
    day = D(2026, 11, 27)
    assert selectors.window_on(day).opens == D(2026, 11, 27)

    def elsewhere() -> None:
        other = connections.create_connection("default")
        try:
            with other.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO readings_calendaroverride (date, is_working, note) VALUES (%s, %s, '')",
                    [day, False],
                )
            if not other.get_autocommit():
                other.commit()
        finally:
            other.close()

    worker = threading.Thread(target=elsewhere)
    worker.start()
    worker.join()
    assert selectors.window_on(day).opens == D(2026, 11, 26)


def test_a_submission_follows_a_calendar_change_made_after_the_window_was_remembered():
    staff = UserFactory(is_staff=True)
    meter = MeterFactory(initial_values=[1000])
    thursday = kyiv(2026, 11, 26, 10)  # the day before the window opens (27.11)
    assert reading_submit(meter=meter, text="1100", channel="web", submitted_at=thursday).status == "control"
    calendar_override_save(date=D(2026, 11, 27), is_working=False, saved_by=staff, confirm=True)
    # Friday a day off: the window's two days before the 1st are Thursday and Monday.
    assert reading_submit(meter=meter, text="1100", channel="web", submitted_at=thursday).status == "accepted"


# --- The readings a submission is weighed against, in one query -------------------------------------


def accepted(meter, period: dt.date, value: int, consumption: int | None) -> Reading:
    return Reading.objects.create(
        meter=meter,
        period=period,
        value1=value,
        consumption1=consumption,
        status=Reading.Status.ACCEPTED,
        channel=Reading.Channel.IMPORT,
        submitted_at=kyiv(period.year, period.month, 1),
    )


def test_the_submission_base_is_the_previous_reading_and_usual_use_as_before():
    meter = MeterFactory(initial_values=[0])
    # Eight months of history, two of them imported without consumption, one superseded, one control.
    for month, (value, consumption) in enumerate(
        [(100, None), (200, 100), (300, 100), (450, None), (600, 150), (700, 100), (900, 200), (1000, 100)], start=3
    ):
        accepted(meter, D(2026, month, 1), value, consumption)
    Reading.objects.create(
        meter=meter,
        period=D(2026, 10, 1),
        value1=950,
        status=Reading.Status.SUPERSEDED,
        channel=Reading.Channel.WEB,
        submitted_at=kyiv(2026, 9, 29),
    )
    held = Reading.objects.create(
        meter=meter,
        period=D(2026, 12, 1),
        value1=1050,
        consumption1=50,
        status=Reading.Status.NEEDS_REVIEW,
        channel=Reading.Channel.WEB,
        submitted_at=kyiv(2026, 11, 28),
    )
    for period in (D(2026, 12, 1), D(2026, 8, 1), D(2026, 5, 1), D(2026, 3, 1)):
        base = selectors.submission_base(meter=meter, period=period, receipt="00000000")
        assert base.previous == selectors.reading_previous(meter=meter, period=period)
        assert base.usual_monthly == selectors.meter_usual_monthly(meter=meter, period=period)
        assert base.standing == list(meter.readings.filter(period=period, status__in=selectors.STANDING))
        assert base.receipt_taken is False
    assert selectors.submission_base(meter=meter, period=D(2026, 12, 1), receipt=held.receipt).receipt_taken


# --- The audit trail, one statement cheaper -----------------------------------------------------------


def test_every_submitted_reading_is_in_the_audit_trail_as_it_was_written():
    meter = MeterFactory(zones=2, initial_values=[1000, 500])
    user = UserFactory()
    first = reading_submit(
        meter=meter,
        text="1100/550",
        channel="api",
        submitted_by=user,
        ip_address="203.0.113.9",
        submitted_at=kyiv(2026, 11, 28, 10),
    )
    second = reading_submit(meter=meter, text="1120/560", channel="telegram", submitted_at=kyiv(2026, 11, 28, 11))
    [created] = first.history.filter(history_type="+")
    assert created.history_user == user
    tracked = [field.attname for field in Reading._meta.concrete_fields]
    stored = Reading.objects.get(pk=first.pk)
    stored_first = {name: getattr(created, name) for name in tracked}
    # The row as created: "accepted"; the supersession that followed is its own "~" entry.
    assert stored_first == {**{name: getattr(stored, name) for name in tracked}, "status": Reading.Status.ACCEPTED}
    [changed] = first.history.filter(history_type="~")
    assert changed.status == Reading.Status.SUPERSEDED
    [created_second] = second.history.all()
    assert (created_second.history_type, created_second.history_user, created_second.replaces_id) == (
        "+",
        None,
        first.pk,
    )
    assert Reading.history.count() == 3
