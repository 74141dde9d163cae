import datetime as dt
import json
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from readings.models import CalendarOverride
from readings.window import Window, WindowPolicy, WorkingCalendar, window_for_period, window_on

D = dt.date
DEFAULT = WindowPolicy()
PLAIN = WorkingCalendar()


@pytest.mark.parametrize(
    ("period", "opens", "closes"),
    [
        # The examples table of docs/domain.md (martial law: public holidays are working days).
        (D(2026, 6, 1), D(2026, 5, 28), D(2026, 6, 3)),
        (D(2026, 12, 1), D(2026, 11, 27), D(2026, 12, 3)),
        (D(2027, 1, 1), D(2026, 12, 30), D(2027, 1, 5)),
        (D(2027, 3, 1), D(2027, 2, 25), D(2027, 3, 3)),
    ],
)
def test_domain_examples_hold(period, opens, closes):
    assert window_for_period(period, DEFAULT, PLAIN) == Window(period, opens, closes)


@pytest.mark.parametrize(
    ("period", "opens", "closes", "why"),
    [
        # Before martial law New Year and Orthodox Christmas (7 Jan) were days off.
        (D(2021, 1, 1), D(2020, 12, 30), D(2021, 1, 6), "1 Jan 2021 is a holiday"),
        # 3 May (Labour Day observed) and 4 May (Easter observed) 2021 were days off.
        (D(2021, 5, 1), D(2021, 4, 29), D(2021, 5, 7), "May holidays"),
        # 28 Dec 2019 was a working Saturday in exchange for 31 Dec; 6 Jan 2020 a day off.
        (D(2020, 1, 1), D(2019, 12, 27), D(2020, 1, 8), "transferred working days"),
    ],
)
def test_holidays_outside_martial_law_are_skipped(period, opens, closes, why):
    assert window_for_period(period, DEFAULT, PLAIN) == Window(period, opens, closes), why


def test_a_weekend_inside_the_window_is_open():
    window = window_for_period(D(2026, 12, 1), DEFAULT, PLAIN)
    assert window.contains(D(2026, 11, 28))  # Saturday between Fri 27th and Mon 30th
    assert window.contains(D(2026, 11, 29))
    assert not window.contains(D(2026, 11, 26))
    assert not window.contains(D(2026, 12, 4))


@pytest.mark.parametrize(
    ("overrides", "opens", "closes"),
    [
        ({D(2026, 11, 27): False}, D(2026, 11, 26), D(2026, 12, 3)),  # Friday made a day off
        ({D(2026, 12, 2): False}, D(2026, 11, 27), D(2026, 12, 4)),  # a day off inside December's first days
        ({D(2026, 11, 29): True}, D(2026, 11, 29), D(2026, 12, 3)),  # a working Sunday
        ({D(2026, 12, 25): False}, D(2026, 11, 27), D(2026, 12, 3)),  # an override elsewhere changes nothing
    ],
)
def test_overrides_move_the_window(overrides, opens, closes):
    window = window_for_period(D(2026, 12, 1), DEFAULT, WorkingCalendar(overrides))
    assert (window.opens, window.closes) == (opens, closes)


@pytest.mark.parametrize(
    ("policy", "period", "opens", "closes"),
    [
        # NEURC wording: two calendar days before the month ends to the 3rd.
        (WindowPolicy("calendar", 2, 3), D(2026, 12, 1), D(2026, 11, 29), D(2026, 12, 3)),
        (WindowPolicy("calendar", 2, 3), D(2027, 3, 1), D(2027, 2, 27), D(2027, 3, 3)),
        (WindowPolicy("calendar", 2, 3), D(2027, 1, 1), D(2026, 12, 30), D(2027, 1, 3)),
        (WindowPolicy("working", 1, 5), D(2026, 12, 1), D(2026, 11, 30), D(2026, 12, 7)),
        (WindowPolicy("working", 0, 3), D(2026, 11, 1), D(2026, 11, 2), D(2026, 11, 4)),
        (WindowPolicy("calendar", 3, 0), D(2026, 12, 1), D(2026, 11, 28), D(2026, 11, 30)),
    ],
)
def test_policies(policy, period, opens, closes):
    assert window_for_period(period, policy, PLAIN) == Window(period, opens, closes)


@pytest.mark.parametrize(
    ("day", "period", "is_open"),
    [
        (D(2026, 11, 24), D(2026, 12, 1), False),  # before the window: the next one
        (D(2026, 11, 27), D(2026, 12, 1), True),  # its first day
        (D(2026, 12, 3), D(2026, 12, 1), True),  # its last day
        (D(2026, 12, 4), D(2027, 1, 1), False),  # the day after: the next month's window
        (D(2026, 12, 31), D(2027, 1, 1), True),  # across the year boundary
        (D(2027, 1, 1), D(2027, 1, 1), True),
        (D(2027, 1, 6), D(2027, 2, 1), False),
    ],
)
def test_window_on_a_day_is_the_containing_or_the_next_one(day, period, is_open):
    window = window_on(day, DEFAULT, PLAIN)
    assert (window.period, window.contains(day)) == (period, is_open)


def test_a_period_must_be_the_first_of_a_month():
    with pytest.raises(ValueError, match="1st of a month"):
        window_for_period(D(2026, 12, 2), DEFAULT, PLAIN)


def window_json(*args: str) -> dict:
    out = StringIO()
    call_command("window", *args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_window_command_prints_the_issue_example():
    assert window_json("2026-11-24") == {
        "date": "2026-11-24",
        "period": "2026-12-01",
        "opens": "2026-11-27",
        "closes": "2026-12-03",
        "is_open": False,
    }


@pytest.mark.django_db
def test_window_command_uses_staff_overrides():
    CalendarOverride.objects.create(date=D(2026, 11, 27), is_working=False, note="day of mourning")
    assert window_json("2026-11-24")["opens"] == "2026-11-26"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("utc_now", "kyiv_date", "is_open"),
    [
        ("2026-11-26T21:59:59Z", "2026-11-26", False),  # 23:59:59 in Kyiv: not yet
        ("2026-11-26T22:00:00Z", "2026-11-27", True),  # 00:00 in Kyiv: open, though UTC is still the 26th
        ("2026-12-03T21:59:59Z", "2026-12-03", True),  # 23:59:59 on the last day
        ("2026-12-03T22:00:00Z", "2026-12-04", False),  # midnight in Kyiv: closed
    ],
)
def test_window_command_defaults_to_today_in_kyiv(utc_now, kyiv_date, is_open):
    with time_machine.travel(utc_now, tick=False):
        shown = window_json()
    assert (shown["date"], shown["is_open"]) == (kyiv_date, is_open)


@pytest.mark.django_db
def test_window_command_human_output_and_bad_date():
    out = StringIO()
    call_command("window", "2026-11-28", stdout=out)
    assert "2026-11-27 … 2026-12-03" in out.getvalue()
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("window", "28.11.2026")


@pytest.mark.django_db
def test_window_policy_comes_from_settings(settings):
    settings.READINGS_WINDOW_DAYS = "calendar"
    assert window_json("2026-11-24")["opens"] == "2026-11-29"
