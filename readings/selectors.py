"""Reads of readings and windows that more than one channel needs."""

import datetime as dt
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.errors import AccountMeterMismatch, MeterNotLinked, MeterRequired
from accounts.models import AccountLink, Meter, PersonalAccount, User
from accounts.numbers import meter_serial_normalize
from accounts.selectors import account_link_get, linked_account
from readings import window
from readings.models import CalendarOverride, CalendarVersion, ExportBatch, ExportedReading, Reading, ReadingPhoto
from readings.rules import JumpRule
from readings.states import ReadingState, State, receipt_line, replaces_line
from readings.tariffs import estimate_cost

USUAL_HISTORY_READINGS = 6
STANDING = (Reading.Status.ACCEPTED, Reading.Status.NEEDS_REVIEW)


def window_policy() -> window.WindowPolicy:
    return window.WindowPolicy(
        days=settings.READINGS_WINDOW_DAYS,
        before=settings.READINGS_WINDOW_BEFORE,
        after=settings.READINGS_WINDOW_AFTER,
    )


def jump_rule() -> JumpRule:
    return JumpRule(
        factor=settings.READINGS_JUMP_FACTOR,
        floor_kwh=settings.READINGS_JUMP_FLOOR_KWH,
        no_history_kwh=settings.READINGS_JUMP_NO_HISTORY_KWH,
    )


def working_calendar(around: dt.date) -> window.WorkingCalendar:
    """The calendar with every staff override that can touch windows near `around`."""
    overrides = CalendarOverride.objects.filter(
        date__gte=around - dt.timedelta(days=62), date__lte=around + dt.timedelta(days=124)
    ).values_list("date", "is_working")
    return window.WorkingCalendar(dict(overrides))


def calendar_stamp() -> str | None:
    """The calendar's version (readings.models.CalendarVersion), or None when there is none."""
    return CalendarVersion.objects.filter(pk=1).values_list("stamp", flat=True).first()


def calendar_stamp_subquery() -> Subquery:
    """calendar_stamp as a column of another query: the submission reads it with the meter's lock."""
    return Subquery(CalendarVersion.objects.filter(pk=1).values("stamp")[:1])


# Windows worked out in this process, by (what, date, policy) under one calendar stamp. The stamp
# comes from the database on every use, so a change of the calendar anywhere is seen at once;
# the memo only spares the overrides' query and the reckoning. Not state: losing it loses nothing.
_windows: dict[tuple, window.Window] = {}
_windows_stamp: list[str | None] = [None]
UNREAD = object()
WINDOWS_REMEMBERED = 4096


def _window_memo(key: tuple, stamp, reckon) -> window.Window:
    if stamp is UNREAD:
        stamp = calendar_stamp()  # read before the overrides: a change between them only costs a miss
    if stamp is None:
        return reckon()
    if _windows_stamp[0] != stamp:
        _windows.clear()
        _windows_stamp[0] = stamp
    key = (*key, window_policy())
    found = _windows.get(key)
    if found is None:
        if len(_windows) >= WINDOWS_REMEMBERED:  # any date can be asked for (the API's ?on=)
            _windows.clear()
        found = _windows[key] = reckon()
    return found


def window_on(day: dt.date | None = None, *, stamp=UNREAD) -> window.Window:
    """The window containing `day` (default: today in Kyiv), or the next one. `stamp`: the
    calendar_stamp the caller has read already, to save its query."""
    day = day or timezone.localdate()
    window.check_in_range(day)  # before the calendar's query, which reckons two months either side
    return _window_memo(("on", day), stamp, lambda: window.window_on(day, window_policy(), working_calendar(day)))


def window_for_period(period: dt.date, *, stamp=UNREAD) -> window.Window:
    return _window_memo(
        ("for", period),
        stamp,
        lambda: window.window_for_period(period, window_policy(), working_calendar(period)),
    )


def window_move(*, changes: Mapping[dt.date, bool | None]) -> tuple[window.Window, window.Window] | None:
    """The window open today (or the next one) now and as it would be with the calendar overrides
    `changes` (a date made working, True, a day off, False, or its override removed, None); None
    when it stays as it is."""
    today = timezone.localdate()
    calendar = working_calendar(today)
    now = window.window_on(today, window_policy(), calendar)
    overrides = {**calendar.overrides, **changes}
    changed = window.WorkingCalendar({day: working for day, working in overrides.items() if working is not None})
    after = window.window_on(today, window_policy(), changed)
    return None if after == now else (now, after)


def _accepted_before(meter, period) -> QuerySet[Reading]:
    """The meter's accepted readings of periods before `period`, latest first (values or OuterRefs)."""
    return Reading.objects.filter(meter=meter, status=Reading.Status.ACCEPTED, period__lt=period).order_by("-period")


def reading_previous(*, meter: Meter, period: dt.date) -> Reading | None:
    """The latest accepted reading of a period before `period`: the base of its consumption."""
    return _accepted_before(meter, period).first()


def readings_with_previous(readings: QuerySet[Reading]) -> QuerySet[Reading]:
    """`readings` with reading_previous's reading of each as previous_period and previous_value1..3,
    in the same query (the review queue shows it beside every held reading)."""
    previous = _accepted_before(OuterRef("meter"), OuterRef("period"))
    return readings.annotate(
        previous_period=Subquery(previous.values("period")[:1]),
        previous_value1=Subquery(previous.values("value1")[:1]),
        previous_value2=Subquery(previous.values("value2")[:1]),
        previous_value3=Subquery(previous.values("value3")[:1]),
    )


def meter_usual_monthly(*, meter: Meter, period: dt.date) -> Decimal | None:
    """The meter's usual total kWh a month over its last accepted readings before `period`."""
    history = list(
        _accepted_before(meter, period)
        .filter(consumption1__isnull=False)
        .only("period", "consumption1", "consumption2", "consumption3")[:USUAL_HISTORY_READINGS]
    )
    return _usual_monthly(history)


def _usual_monthly(history: Sequence[Reading]) -> Decimal | None:
    """`history`: accepted readings with their consumption, latest first."""
    if not history:
        return None
    if len(history) == 1:
        return Decimal(sum(history[0].consumption))
    # The oldest reading only marks where the span starts; the others' use fills it.
    months = months_between(history[-1].period, history[0].period)
    used = sum(sum(reading.consumption) for reading in history[:-1])
    return Decimal(used) / months


@dataclass(frozen=True)
class SubmissionBase:
    """What a new reading of a meter for a period is weighed against."""

    previous: Reading | None  # reading_previous
    usual_monthly: Decimal | None  # meter_usual_monthly
    standing: list[Reading]  # the period's standing reading (at most one), which a new one supersedes
    receipt_taken: bool  # whether some reading already has the receipt asked about


def submission_base(*, meter: Meter, period: dt.date, receipt: str) -> SubmissionBase:
    """reading_previous, meter_usual_monthly, the period's standing reading and whether `receipt`
    is taken, in one query: every row it needs and no other (at most eight), sorted out here."""
    accepted, review = Reading.Status.ACCEPTED, Reading.Status.NEEDS_REVIEW
    day = connection.ops.adapt_datefield_value(period)
    params = [meter.pk, meter.pk, day, accepted, meter.pk, day, accepted, day, accepted, review, receipt]
    rows = list(Reading.objects.raw(_submission_sql(), params))
    before = [
        row
        for row in rows
        if row.meter_id == meter.pk and row.status == Reading.Status.ACCEPTED and row.period < period
    ]
    # Accepted readings of one meter have one period each (the standing constraint): `before`'s
    # first is the latest, and its readings with consumption are the latest of those.
    history = [row for row in before if row.consumption1 is not None][:USUAL_HISTORY_READINGS]
    return SubmissionBase(
        previous=before[0] if before else None,
        usual_monthly=_usual_monthly(history),
        standing=[row for row in rows if row.meter_id == meter.pk and row.period == period and row.status in STANDING],
        receipt_taken=any(row.receipt == receipt for row in rows),
    )


@functools.cache
def _submission_sql() -> str:
    """submission_base's query, written out once: the meter's latest accepted reading before the
    period, its latest ones with consumption, the period's standing ones, and any with the receipt.

    The same query on every submission of every channel; built with the ORM (Q, two subqueries)
    it cost about a third of an API reading's CPU in building and compiling alone (#17's profile).
    """
    q = connection.ops.quote_name
    columns = ", ".join(f"r.{q(field.column)}" for field in Reading._meta.concrete_fields)
    table = q(Reading._meta.db_table)
    # Made of the model's own names and constants; every value is a parameter.
    accepted_before = f"SELECT u.{q('id')} FROM {table} u WHERE u.{q('meter_id')} = %s AND u.{q('period')} < %s"  # noqa: S608
    accepted_before += f" AND u.{q('status')} = %s"
    order = f"ORDER BY u.{q('period')} DESC"
    return (
        f"SELECT {columns} FROM {table} r WHERE (r.{q('meter_id')} = %s AND ("  # noqa: S608
        f"r.{q('id')} IN ({accepted_before} {order} LIMIT 1)"
        f" OR r.{q('id')} IN ({accepted_before} AND u.{q('consumption1')} IS NOT NULL {order}"
        f" LIMIT {USUAL_HISTORY_READINGS})"
        f" OR (r.{q('period')} = %s AND r.{q('status')} IN (%s, %s))"
        f")) OR r.{q('receipt')} = %s ORDER BY r.{q('period')} DESC"
    )


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def reading_last_accepted(*, meter: Meter) -> Reading | None:
    return Reading.objects.filter(meter=meter, status=Reading.Status.ACCEPTED).order_by("-period").first()


def account_history(*, account_id: int, limit: int = 6) -> list[Reading]:
    """The account's latest readings over all its meters, replaced ones included."""
    return list(
        readings_with_export(
            Reading.objects.filter(meter__account_id=account_id)
            .select_related("meter", "replaced_by")
            .order_by("-submitted_at", "-id")
        )[:limit]
    )


@dataclass(frozen=True)
class AccountOverview:
    account: PersonalAccount
    meters: list[tuple[Meter, Reading | None]]  # active meters with their last accepted reading
    reminders_enabled: bool
    window: window.Window  # the open window, or the next one
    today: dt.date
    # Each meter's latest reading of the current window (by meter id), what the resident sees first.
    states: dict[int, ReadingState] = field(default_factory=dict)


def account_overview(*, user: User, number: str) -> AccountOverview:
    """What a resident sees for one of their accounts; NotLinked for anyone else's."""
    link = account_link_get(user=user, number=number)
    meters = Meter.objects.filter(account=link.account, is_active=True).select_related("account").order_by("serial")
    today = timezone.localdate()
    current = window_on(today)
    return AccountOverview(
        account=link.account,
        meters=[(meter, reading_last_accepted(meter=meter)) for meter in meters],
        reminders_enabled=link.reminders_enabled,
        window=current,
        today=today,
        states=meters_current_states(meter_ids=[meter.pk for meter in meters], today=today, current=current),
    )


def linked_meter(*, user: User, meter_id: int) -> Meter:
    """An active meter of one of the user's accounts; NotLinked otherwise."""
    meter = (
        Meter.objects.filter(pk=meter_id, is_active=True, account__links__user=user).select_related("account").first()
    )
    if meter is None:
        raise MeterNotLinked()
    return meter


def account_meter(*, account: PersonalAccount, serial: str | None) -> Meter:
    """The active meter a reading is for: the named one, or the account's only one."""
    meters = list(Meter.objects.filter(account=account, is_active=True).select_related("account").order_by("serial"))
    if serial is not None:
        wanted = meter_serial_normalize(serial)
        chosen = [meter for meter in meters if meter.serial == wanted]
        if not chosen:
            raise AccountMeterMismatch(number=account.number, serial=wanted)
        return chosen[0]
    if len(meters) != 1:
        raise MeterRequired(number=account.number, serials=", ".join(meter.serial for meter in meters) or "—")
    return meters[0]


def linked_account_meter(*, user: User, number: str, serial: str | None) -> Meter:
    """account_meter of the user's linked account `number`, in one query when all is well; the
    refusals (NotLinked, AccountMeterMismatch, MeterRequired) are worked out as before."""
    params = [number, user.pk] if serial is None else [number, user.pk, meter_serial_normalize(serial)]
    found = list(Meter.objects.raw(_linked_meter_sql(by_serial=serial is not None), params))
    if len(found) == 1:
        return found[0]
    return account_meter(account=linked_account(user=user, number=number), serial=serial)


@functools.cache
def _linked_meter_sql(*, by_serial: bool) -> str:
    """linked_account_meter's query, written out once (see _submission_sql): the active meters, at
    most two, of account `number` linked to the user, only the one with the serial when one is given.

    The meter's account is not joined in: the submission locks the meter and reads it with its account.
    """
    q = connection.ops.quote_name
    meter, account, link = Meter._meta, PersonalAccount._meta, AccountLink._meta
    columns = ", ".join(f"m.{q(field.column)}" for field in meter.concrete_fields)
    return (
        f"SELECT {columns} FROM {q(meter.db_table)} m"  # noqa: S608 - the models' own names; values are parameters
        f" JOIN {q(account.db_table)} a ON a.{q('id')} = m.{q('account_id')}"
        f" JOIN {q(link.db_table)} l ON l.{q('account_id')} = a.{q('id')}"
        f" WHERE a.{q('number')} = %s AND l.{q('user_id')} = %s AND m.{q('is_active')}"
        + (f" AND m.{q('serial')} = %s" if by_serial else "")
        + " LIMIT 2"
    )


def accounts_with_meters(*, user: User, number: str | None = None) -> list[dict]:
    """The user's accounts, each meter with its last accepted reading, in three queries."""
    accounts = PersonalAccount.objects.filter(links__user=user).order_by("number")
    if number is not None:
        accounts = accounts.filter(number=number)
    accounts = list(accounts)
    last_accepted = (
        Reading.objects.filter(meter=OuterRef("pk"), status=Reading.Status.ACCEPTED)
        .order_by("-period")
        .values("pk")[:1]
    )
    meters = list(
        Meter.objects.filter(account__in=accounts, is_active=True)
        .annotate(last_reading_id=Subquery(last_accepted))
        .order_by("serial")
    )
    lasts = Reading.objects.in_bulk([meter.last_reading_id for meter in meters if meter.last_reading_id is not None])
    last_by_meter = {reading.meter_id: reading for reading in lasts.values()}
    return [
        {
            "number": account.number,
            "address": account.address,
            "meters": [
                {
                    "id": meter.pk,
                    "serial": meter.serial,
                    "zones": meter.zones,
                    "digits": meter.digits,
                    "last_reading": _last(last_by_meter.get(meter.pk)),
                }
                for meter in meters
                if meter.account_id == account.pk
            ],
        }
        for account in accounts
    ]


def _last(reading: Reading | None) -> dict | None:
    if reading is None:
        return None
    return {"values": list(reading.values), "period": reading.period, "submitted_at": reading.submitted_at}


@dataclass(frozen=True)
class Outcome:
    """What became of a submitted reading, as every channel reports it back."""

    reading: Reading
    cost: Decimal | None  # the estimate of the consumption it adds, when it counts for a period
    next_window: window.Window  # the window after the reading's period

    @property
    def receipt(self) -> str:
        return receipt_line(self.reading)

    @property
    def replaces(self) -> str:
        """Which earlier reading of the window this one replaced; empty when none."""
        earlier = self.reading.replaces
        return replaces_line(earlier) if earlier is not None else ""


def reading_outcome(reading: Reading) -> Outcome:
    next_window = window_for_period(reading.period, stamp=getattr(reading, "calendar_stamp", UNREAD))
    return Outcome(reading=reading, cost=reading_cost(reading), next_window=next_window)


def reading_cost(reading: Reading) -> Decimal | None:
    """The estimate of the consumption the reading adds, when it counts towards a period: a
    control reading counts for none, and a first reading without a baseline has no consumption."""
    if reading.status == Reading.Status.CONTROL or reading.consumption is None:
        return None
    return estimate_cost(reading.consumption)


# --- A reading's state for the resident ----------------------------------------------------------


def reading_state(
    reading: Reading, *, today: dt.date | None = None, period_window: window.Window | None = None
) -> ReadingState:
    """What became of `reading`, as every channel tells the resident (readings.states names it).

    `period_window` (the window of the reading's period) saves a query when the caller has it.
    """
    today = today or timezone.localdate()
    replaced_by = None
    resend_until = None
    status = reading.status
    if status == Reading.Status.SUPERSEDED:
        state = State.SUPERSEDED
        replaced_by = _replaced_by(reading)
    elif status == Reading.Status.CONTROL:
        state = State.CONTROL
    elif status in (Reading.Status.REJECTED, Reading.Status.NEEDS_REVIEW):
        state = State.REJECTED if status == Reading.Status.REJECTED else State.IN_REVIEW
        shown = period_window or window_for_period(reading.period, stamp=getattr(reading, "calendar_stamp", UNREAD))
        if today <= shown.closes:  # a corrected reading sent now still counts for the period
            resend_until = shown.closes
    elif passed_to_billing(reading):
        state = State.BILLED
    elif reading.reviewed_at is not None:
        state = State.APPROVED
    else:
        state = State.ACCEPTED
    return ReadingState(state=state, reading=reading, replaced_by=replaced_by, resend_until=resend_until)


def reading_states(readings: Sequence[Reading], *, today: dt.date | None = None) -> list[ReadingState]:
    """reading_state of each reading, with one window query per period rather than per reading."""
    today = today or timezone.localdate()
    windows: dict[dt.date, window.Window] = {}
    states = []
    for reading in readings:
        if reading.status in (Reading.Status.REJECTED, Reading.Status.NEEDS_REVIEW) and reading.period not in windows:
            windows[reading.period] = window_for_period(reading.period)
        states.append(reading_state(reading, today=today, period_window=windows.get(reading.period)))
    return states


def passed_to_billing(reading: Reading) -> bool:
    """Whether a completed billing export batch gave the reading to billing: without a query
    when the reading comes from readings_with_export (its `exported_at`), else one."""
    if hasattr(reading, "exported_at"):
        return reading.exported_at is not None
    return reading_exported(reading) is not None


def _replaced_by(reading: Reading) -> Reading | None:
    try:
        return reading.replaced_by
    except Reading.replaced_by.RelatedObjectDoesNotExist:
        return None


def meters_current_states(
    *, meter_ids: list[int], today: dt.date | None = None, current: window.Window | None = None
) -> dict[int, ReadingState]:
    """Each meter's latest reading of the current window (or of the one just closed, until the
    next opens) with its state; meters with none are left out. `current` (window_on(today))
    saves the calendar's query when the caller has it."""
    today = today or timezone.localdate()
    current = current or window_on(today)
    since = current.period if current.contains(today) else window.add_months(current.period, -1)
    readings = readings_with_export(
        Reading.objects.filter(meter_id__in=meter_ids, period__gte=since)
        .select_related("meter", "replaced_by", "replaces")
        .order_by("-submitted_at", "-id")
    )
    latest: dict[int, Reading] = {}
    for reading in readings:
        latest.setdefault(reading.meter_id, reading)
    windows = {current.period: current}
    states = {}
    for meter_id, reading in latest.items():
        if reading.period not in windows:
            windows[reading.period] = window_for_period(reading.period)
        states[meter_id] = reading_state(reading, today=today, period_window=windows[reading.period])
    return states


def reading_by_id(*, reading_id: int) -> Reading | None:
    return Reading.objects.filter(pk=reading_id).select_related("meter", "replaces").first()


def account_reading(*, account_id: int, reading_id: int) -> Reading | None:
    return (
        Reading.objects.filter(pk=reading_id, meter__account_id=account_id).select_related("meter", "replaces").first()
    )


@dataclass(frozen=True)
class MonthUse:
    """One month of an account's use: kWh per zone over all its meters, and the estimate."""

    period: dt.date
    consumption: tuple[int, ...]  # empty when the month has no reading with a known consumption
    cost: Decimal | None
    under_review: bool

    @property
    def total(self) -> int:
        return sum(self.consumption)


def history_last_period(today: dt.date) -> dt.date:
    """The newest period a history shows: the open window's, or the current month's."""
    current = window_on(today)
    return current.period if current.contains(today) else window.first_of_month(today)


def account_monthly_use(*, account_id: int, last_period: dt.date, months: int = 24) -> list[MonthUse]:
    """The account's monthly use for `months` periods up to `last_period`, oldest first, in one query."""
    first_period = window.add_months(last_period, -(months - 1))
    readings = Reading.objects.filter(
        meter__account_id=account_id, status__in=STANDING, period__gte=first_period, period__lte=last_period
    ).only("period", "status", "consumption1", "consumption2", "consumption3")
    by_period: dict[dt.date, list[Reading]] = {}
    for reading in readings:
        by_period.setdefault(reading.period, []).append(reading)
    return [_month_use(period, by_period.get(period, [])) for period in _periods(first_period, months)]


def _periods(first: dt.date, months: int) -> list[dt.date]:
    return [window.add_months(first, offset) for offset in range(months)]


def _month_use(period: dt.date, readings: list[Reading]) -> MonthUse:
    # A replaced meter and its successor can both have a reading in one month: their use adds up.
    used = [reading.consumption for reading in readings if reading.consumption is not None]
    zones = max((len(consumption) for consumption in used), default=0)
    consumption = tuple(sum(c[zone] for c in used if len(c) > zone) for zone in range(zones))
    return MonthUse(
        period=period,
        consumption=consumption,
        cost=sum((estimate_cost(c) for c in used), Decimal("0.00")) if used else None,
        under_review=any(reading.status == Reading.Status.NEEDS_REVIEW for reading in readings),
    )


def account_readings(*, account_id: int, since: dt.date | None = None) -> QuerySet[Reading]:
    """Every reading sent for the account, newest first, replaced meters included; each with the
    readings it replaced and was replaced by, which the cabinet and the API both name."""
    readings = readings_with_export(
        Reading.objects.filter(meter__account_id=account_id).select_related(
            "meter", "submitted_by", "replaced_by", "replaces"
        )
    )
    if since is not None:
        readings = readings.filter(period__gte=since)
    return readings.order_by("-submitted_at", "-id")


@dataclass(frozen=True)
class WindowStats:
    """How a window filled up: what the staff dashboard shows."""

    window: window.Window
    days: list[tuple[dt.date, dict[str, int]]]  # each day of the window: readings received per channel
    channels: list[str]
    active_accounts: int
    accounts_with_reading: int
    control_readings: int
    pending_reviews: int

    @property
    def share_percent(self) -> float:
        return round(100 * self.accounts_with_reading / self.active_accounts, 1) if self.active_accounts else 0.0


def window_stats(*, period: dt.date) -> WindowStats:
    """The window of `period` in five queries, whatever the number of readings."""
    shown = window_for_period(period)
    received = (
        Reading.objects.filter(period=period)
        .exclude(status=Reading.Status.CONTROL)
        .annotate(day=TruncDate("submitted_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day", "channel")
        .annotate(count=Count("id"))
    )
    per_day: dict[dt.date, dict[str, int]] = {}
    for day, channel, count in received:
        per_day.setdefault(day, {})[channel] = count
    days = [shown.opens + dt.timedelta(days=offset) for offset in range((shown.closes - shown.opens).days + 1)]
    return WindowStats(
        window=shown,
        days=[(day, per_day.get(day, {})) for day in days],
        channels=sorted({channel for counts in per_day.values() for channel in counts}),
        active_accounts=PersonalAccount.objects.filter(is_active=True).count(),
        accounts_with_reading=Reading.objects.filter(period=period, status__in=STANDING, meter__account__is_active=True)
        .values("meter__account")
        .distinct()
        .count(),
        control_readings=Reading.objects.filter(period=period, status=Reading.Status.CONTROL).count(),
        pending_reviews=Reading.objects.filter(period=period, status=Reading.Status.NEEDS_REVIEW).count(),
    )


# --- Meter photos ------------------------------------------------------------------------------

# How long after it was sent a held or rejected reading still takes a photo from the bot.
PHOTO_DAYS = 31


def resident_reading(*, user: User, reading_id: int) -> Reading | None:
    """A reading of one of the user's linked accounts; None for anyone else's."""
    return (
        Reading.objects.filter(pk=reading_id, meter__account__links__user=user).select_related("meter__account").first()
    )


def reading_awaiting_photo(*, user: User, meter_id: int | None = None) -> Reading | None:
    """The newest recent reading of the user's accounts that staff hold for review or rejected:
    the one a photo sent to the bot without other context is evidence for."""
    readings = Reading.objects.filter(
        meter__account__links__user=user,
        status__in=[Reading.Status.NEEDS_REVIEW, Reading.Status.REJECTED],
        submitted_at__gte=timezone.now() - dt.timedelta(days=PHOTO_DAYS),
    )
    if meter_id is not None:
        readings = readings.filter(meter_id=meter_id)
    return readings.select_related("meter").order_by("-submitted_at").first()


def reading_photo_for(*, user: User, photo_id: int) -> ReadingPhoto | None:
    """A photo the user may see: of a reading of one of their accounts, or any photo for staff
    who review readings. None otherwise, so a stranger cannot tell it exists."""
    photos = ReadingPhoto.objects.select_related("reading")
    if not (user.is_staff and user.has_perm("readings.review_reading")):
        photos = photos.filter(reading__meter__account__links__user=user)
    return photos.filter(pk=photo_id).first()


def reading_photos(*, reading_id: int) -> list[ReadingPhoto]:
    return list(ReadingPhoto.objects.filter(reading_id=reading_id))


# --- Billing export ----------------------------------------------------------------------------


def _completed_exports() -> QuerySet[ExportedReading]:
    """The exports of the outer reading that reached billing, first batch first.

    Through the batches of the reading's period: the batch's rows have no index by reading (it
    doubled the time of recording a batch), so each of those few batches is one probe of the
    primary key (batch, reading).
    """
    return ExportedReading.objects.filter(
        batch__period=OuterRef("period"), reading=OuterRef("pk"), batch__completed_at__isnull=False
    ).order_by("batch_id")


def readings_with_export(readings: QuerySet[Reading]) -> QuerySet[Reading]:
    """The readings, each annotated `exported_at`: when the first completed export batch that
    gave it to billing completed ("передано в білінг"), None while none has."""
    return readings.annotate(exported_at=Subquery(_completed_exports().values("batch__completed_at")[:1]))


def readings_not_exported(readings: QuerySet[Reading]) -> QuerySet[Reading]:
    """The readings no completed export batch has given to billing yet."""
    return readings.exclude(Exists(_completed_exports()))


def reading_exported(reading: Reading) -> ExportBatch | None:
    """The first completed export batch that gave the reading to billing, or None."""
    return (
        ExportBatch.objects.filter(period=reading.period, completed_at__isnull=False)
        .filter(pk__in=ExportedReading.objects.filter(batch__period=reading.period, reading=reading).values("batch_id"))
        .order_by("pk")
        .first()
    )


def periods_not_exported(*, periods: int = 3) -> list[tuple[dt.date, int]]:
    """The current window's period and the ones before it, each with how many of its readings
    no completed export batch has given to billing yet."""
    current = window_on(timezone.localdate()).period
    shown = [window.add_months(current, -months) for months in range(periods)]
    counts = dict(
        readings_not_exported(Reading.objects.filter(period__in=shown))
        .order_by()
        .values_list("period")
        .annotate(count=Count("id"))
    )
    return [(period, counts.get(period, 0)) for period in shown]
