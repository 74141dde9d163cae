import datetime as dt

import pytest
import time_machine
from django.db import IntegrityError, transaction

from accounts.errors import DomainError
from accounts.masterdata import meter_replace
from accounts.tests.factories import MeterFactory, UserFactory
from conftest import kyiv
from readings.models import Reading
from readings.services import reading_submit

pytestmark = pytest.mark.django_db

D = dt.date
IN_DEC_WINDOW = kyiv(2026, 11, 28)  # window 27.11–03.12, period 2026-12-01
IN_JAN_WINDOW = kyiv(2026, 12, 30)  # window 30.12–05.01, period 2027-01-01
BEFORE_DEC_WINDOW = kyiv(2026, 11, 24)


def submit(meter, text, at=IN_DEC_WINDOW, **kwargs) -> Reading:
    kwargs.setdefault("channel", "telegram")
    return reading_submit(meter=meter, text=text, submitted_at=at, **kwargs)


def refusal(meter, text, at=IN_DEC_WINDOW, **kwargs) -> DomainError:
    with pytest.raises(DomainError) as refused:
        submit(meter, text, at, **kwargs)
    return refused.value


def test_a_reading_in_the_window_is_the_periods_reading():
    meter = MeterFactory(initial_values=[1000])
    user = UserFactory()
    reading = submit(meter, "1250", submitted_by=user, channel_user_key="555001")
    assert reading.status == Reading.Status.ACCEPTED
    assert reading.period == D(2026, 12, 1)
    assert reading.values == (1250,)
    assert reading.consumption == (250,)
    assert (reading.channel, reading.submitted_by, reading.channel_user_key) == ("telegram", user, "555001")


def test_a_two_zone_reading_has_consumption_per_zone():
    meter = MeterFactory(zones=2, initial_values=[1000, 500])
    reading = submit(meter, "1111 / 560", channel="web", ip_address="203.0.113.7")
    assert reading.values == (1111, 560)
    assert reading.consumption == (111, 60)
    assert reading.ip_address == "203.0.113.7"


def test_outside_the_window_it_is_kept_as_a_control_reading_for_the_next_period():
    meter = MeterFactory(initial_values=[1000])
    control = submit(meter, "1200", at=BEFORE_DEC_WINDOW)
    assert (control.status, control.period) == (Reading.Status.CONTROL, D(2026, 12, 1))
    # A control reading is not the base of the next one: the period's reading counts from 1000.
    reading = submit(meter, "1300")
    assert reading.consumption == (300,)
    control.refresh_from_db()
    assert control.status == Reading.Status.CONTROL


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (kyiv(2026, 11, 26, 23, 59), Reading.Status.CONTROL),
        (kyiv(2026, 11, 27, 0, 0), Reading.Status.ACCEPTED),
        (kyiv(2026, 12, 3, 23, 59), Reading.Status.ACCEPTED),
        (kyiv(2026, 12, 4, 0, 0), Reading.Status.CONTROL),
    ],
)
def test_the_window_follows_the_kyiv_clock(at, status):
    assert submit(MeterFactory(), "1100", at=at).status == status


def test_without_a_time_given_it_is_now_in_kyiv():
    meter = MeterFactory()
    with time_machine.travel("2026-11-26T22:30:00Z", tick=False):  # 00:30 on 27 Nov in Kyiv
        reading = reading_submit(meter=meter, text="1100", channel="api")
    assert reading.status == Reading.Status.ACCEPTED


def test_a_second_reading_in_the_window_supersedes_the_first_and_both_stay():
    meter = MeterFactory(initial_values=[1000])
    mother, son = UserFactory(), UserFactory()
    first = submit(meter, "1250", submitted_by=mother, channel="telegram")
    second = submit(meter, "1240", at=kyiv(2026, 12, 1), submitted_by=son, channel="web")
    first.refresh_from_db()
    assert first.status == Reading.Status.SUPERSEDED
    assert second.status == Reading.Status.ACCEPTED
    assert second.consumption == (240,)  # against the previous period, not the superseded reading
    history = meter.readings.order_by("submitted_at")
    assert [(r.channel, r.submitted_by) for r in history] == [("telegram", mother), ("web", son)]


def test_consumption_chains_from_the_previous_periods_reading():
    meter = MeterFactory(initial_values=[1000])
    submit(meter, "1250")
    january = submit(meter, "1400", at=IN_JAN_WINDOW)
    assert (january.period, january.consumption) == (D(2027, 1, 1), (150,))


def test_a_lower_reading_is_refused_and_nothing_is_written():
    meter = MeterFactory(initial_values=[1000])
    submit(meter, "1250")
    error = refusal(meter, "1200", at=IN_JAN_WINDOW)
    assert error.code == "reading_decrease"
    assert error.params == {"value": 1200, "previous": 1250, "zone": 1}
    assert meter.readings.count() == 1


def test_a_rollover_needs_confirmation_and_then_staff_review():
    meter = MeterFactory(digits=5, initial_values=[99950])
    error = refusal(meter, "30")
    assert (error.code, error.reason) == ("confirmation_required", "rollover")
    assert not meter.readings.exists()
    reading = submit(meter, "30", confirm=True)
    assert (reading.status, reading.review_reason) == (Reading.Status.NEEDS_REVIEW, "rollover")
    assert reading.consumption == (80,)


def test_a_drop_far_from_the_top_of_the_display_is_not_a_rollover():
    meter = MeterFactory(digits=5, initial_values=[50000])
    assert refusal(meter, "30", confirm=True).code == "reading_decrease"


def history(meter, monthly_use: int, months: int) -> int:
    """Accepted readings for `months` windows before December 2026, `monthly_use` kWh each."""
    value = meter.initial_values[0]
    for n in range(months, 0, -1):
        value += monthly_use
        month = 12 - n
        submit(meter, str(value), at=kyiv(2026, month, 1, 10))
    return value


def test_an_unusual_jump_needs_confirmation_and_staff_review():
    meter = MeterFactory(digits=6, initial_values=[1000])
    last = history(meter, 200, months=4)
    error = refusal(meter, str(last + 2000))
    assert (error.code, error.reason, error.params["consumption"]) == ("confirmation_required", "unusual_jump", 2000)
    assert meter.readings.count() == 4
    reading = submit(meter, str(last + 2000), confirm=True)
    assert (reading.status, reading.review_reason) == (Reading.Status.NEEDS_REVIEW, "unusual_jump")
    # A corrected reading in the same window takes its place.
    corrected = submit(meter, str(last + 210), at=kyiv(2026, 12, 2))
    reading.refresh_from_db()
    assert (reading.status, corrected.status) == (Reading.Status.SUPERSEDED, Reading.Status.ACCEPTED)


def test_usual_use_below_the_factor_is_accepted_without_questions():
    meter = MeterFactory(digits=6, initial_values=[1000])
    last = history(meter, 200, months=4)
    assert submit(meter, str(last + 550)).status == Reading.Status.ACCEPTED  # 2.75 × usual


def test_a_meter_without_history_asks_only_above_the_absolute_limit(settings):
    settings.READINGS_JUMP_NO_HISTORY_KWH = 3000
    meter = MeterFactory(digits=6, initial_values=[1000])
    assert refusal(meter, "4001").reason == "unusual_jump"
    assert submit(meter, "3900").status == Reading.Status.ACCEPTED


@pytest.mark.parametrize(
    ("text", "code"),
    [("1111", "reading_total_of_zoned"), ("1111/2222/3333", "reading_zone_count"), ("12,5/3", "reading_decimal")],
)
def test_format_refusals_write_nothing(text, code):
    meter = MeterFactory(zones=2, initial_values=[1000, 500])
    assert refusal(meter, text).code == code
    assert not Reading.objects.exists()


def test_values_as_numbers_take_the_same_path():
    meter = MeterFactory(zones=3, initial_values=[100, 200, 300])
    reading = reading_submit(meter=meter, values=[150, 260, 390], channel="api", submitted_at=IN_DEC_WINDOW)
    assert reading.consumption == (50, 60, 90)


def test_a_removed_meter_takes_no_readings():
    meter = MeterFactory(is_active=False, removed_on=D(2026, 10, 1))
    assert refusal(meter, "1100").code == "meter_inactive"


def test_an_unknown_channel_is_a_programming_error():
    with pytest.raises(ValueError):
        submit(MeterFactory(), "1100", channel="fax")


def test_the_database_holds_one_standing_reading_per_meter_and_period():
    meter = MeterFactory()
    reading = submit(meter, "1100")
    duplicate = Reading(
        meter=meter,
        period=reading.period,
        value1=1200,
        status=Reading.Status.ACCEPTED,
        channel="staff",
        submitted_at=IN_DEC_WINDOW,
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()


def test_a_replaced_meter_keeps_its_readings_and_the_new_one_starts_from_its_own_reading():
    old = MeterFactory(serial="OLD1", initial_values=[1000])
    submit(old, "1250")
    new = meter_replace(
        meter=old, new_serial="new2", zones=2, digits=6, initial_values=[0, 0], replaced_on=D(2026, 12, 10)
    )
    old.refresh_from_db()
    assert (old.is_active, old.removed_on, old.readings.count()) == (False, D(2026, 12, 10), 1)
    assert (new.serial, new.account, new.is_active) == ("NEW2", old.account, True)
    reading = submit(new, "80/40", at=IN_JAN_WINDOW)
    assert reading.consumption == (80, 40)
    assert refusal(old, "1300", at=IN_JAN_WINDOW).code == "meter_inactive"
