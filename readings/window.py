"""The submission window (docs/domain.md), as pure functions of dates.

Default policy, from the company's published rule: the last two working days of a
month plus the first three working days of the next; readings count as of the 1st
of that next month. The window is the whole span from its first to its last day,
so a weekend inside it is open too.
"""

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import holidays

from readings.errors import DateOutOfRange

DayKind = Literal["working", "calendar"]
ONE_DAY = dt.timedelta(days=1)
# The days a window is looked up for (window_on; the admin's periods too). Reckoning reaches
# months around a day (the calendar's overrides, the next windows), and Python's dates end at
# years 1 and 9999, so a day near either end overflows; no reading is for a year outside these.
FIRST_DAY = dt.date(2000, 1, 1)
LAST_DAY = dt.date(2100, 12, 31)


@dataclass(frozen=True)
class WindowPolicy:
    days: DayKind = "working"
    before: int = 2
    after: int = 3


@dataclass(frozen=True)
class Window:
    period: dt.date
    opens: dt.date
    closes: dt.date

    def contains(self, day: dt.date) -> bool:
        return self.opens <= day <= self.closes

    def status_on(self, day: dt.date) -> dict[str, str | bool]:
        """The window as seen on `day`, in the shape the window command and the API print."""
        return {
            "date": day.isoformat(),
            "period": self.period.isoformat(),
            "opens": self.opens.isoformat(),
            "closes": self.closes.isoformat(),
            "is_open": self.contains(day),
        }

    def days_left(self, day: dt.date) -> int:
        """Days from `day` to the last day of the window, counting both."""
        return (self.closes - day).days + 1


@lru_cache(maxsize=64)
def _ukrainian_holidays(year: int) -> holidays.HolidayBase:
    # The package knows that under martial law public holidays are working days,
    # and which Saturdays were made working days in exchange for a day off.
    return holidays.country_holidays("UA", years=year)


class WorkingCalendar:
    """Mon–Fri minus Ukrainian public holidays, adjusted by staff overrides."""

    def __init__(self, overrides: Mapping[dt.date, bool] | None = None) -> None:
        self.overrides = dict(overrides or {})

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _ukrainian_holidays(day.year).is_working_day(day)


def check_in_range(day: dt.date) -> None:
    """Refuses a date outside FIRST_DAY … LAST_DAY with the message every channel shows."""
    if not FIRST_DAY <= day <= LAST_DAY:
        raise DateOutOfRange(first=FIRST_DAY.isoformat(), last=LAST_DAY.isoformat())


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def add_months(period: dt.date, months: int) -> dt.date:
    index = period.year * 12 + period.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def window_for_period(period: dt.date, policy: WindowPolicy, calendar: WorkingCalendar) -> Window:
    """The window in which readings count for `period` (the 1st of a month)."""
    if period.day != 1:
        raise ValueError(f"a period is the 1st of a month, not {period}")
    if policy.days == "calendar":
        days = [period + dt.timedelta(days=n) for n in range(-policy.before, policy.after)]
    else:
        month_before = add_months(period, -1)
        days = _working_days(period - ONE_DAY, month_before, -ONE_DAY, policy.before, calendar)
        days += _working_days(period, period, ONE_DAY, policy.after, calendar)
    return Window(period=period, opens=min(days), closes=max(days))


def _working_days(
    start: dt.date, month: dt.date, step: dt.timedelta, count: int, calendar: WorkingCalendar
) -> list[dt.date]:
    """Up to `count` working days walking from `start` by `step`, never leaving `month`."""
    found: list[dt.date] = []
    day = start
    while len(found) < count and first_of_month(day) == month:
        if calendar.is_working_day(day):
            found.append(day)
        day += step
    return found


def window_on(day: dt.date, policy: WindowPolicy, calendar: WorkingCalendar) -> Window:
    """The window containing `day`, or else the next one to open after it."""
    check_in_range(day)
    period = first_of_month(day)
    for months_ahead in range(3):
        window = window_for_period(add_months(period, months_ahead), policy, calendar)
        if day <= window.closes:
            return window
    raise AssertionError(f"no window closes within three months of {day}")  # unreachable for sane policies
