"""The one write path for readings: every channel submits through reading_submit."""

import datetime as dt
import secrets
from collections.abc import Callable, Sequence
from typing import Any

from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Value
from django.utils import timezone

from accounts.errors import DomainError, TooManyAttempts
from accounts.linking import account_meter_prove
from accounts.models import Meter, User
from portal.queueing import enqueue
from readings import selectors
from readings.audit import audited_insert
from readings.errors import (
    FlagNotStanding,
    IdempotencyKeyReused,
    MeterInactive,
    PhotoLimitReached,
    PhotoNotAccepted,
    ReviewNotPending,
    ReviewReasonRequired,
    TooManyQuickAttempts,
    WindowMoveConfirmation,
    quick_words,
)
from readings.models import CalendarOverride, ExportBatch, ExportedReading, IdempotencyKey, Reading, ReadingPhoto
from readings.parsing import check_values, parse_reading
from readings.photos import photo_clean
from readings.receipts import receipt_new
from readings.rules import assess
from readings.window import check_in_range

STANDING = selectors.STANDING


def reading_submit(
    *,
    meter: Meter,
    channel: str,
    text: str | None = None,
    values: Sequence[int] | None = None,
    submitted_by: User | None = None,
    confirm: bool = False,
    channel_user_key: str = "",
    ip_address: str | None = None,
    submitted_at: dt.datetime | None = None,
) -> Reading:
    """Record a reading sent as `text` ("1111/2222") or as `values`.

    In the window it becomes the period's reading (superseding an earlier one of
    the same window); outside it, a control reading for the next window's period.
    Raises a DomainError (nothing written) when the reading breaks a rule, and
    ConfirmationRequired when it is unusual and `confirm` is not set.
    """
    channel = Reading.Channel(channel)  # a typo in a caller fails here, not in the database
    submitted_at = submitted_at or timezone.now()
    if values is None:
        values = parse_reading(text, zones=meter.zones, digits=meter.digits)
    else:
        values = check_values(list(values), zones=meter.zones, digits=meter.digits)
    day = timezone.localdate(submitted_at)
    check_in_range(day)

    with transaction.atomic():
        # Two submissions for one meter in the same window would both read the same
        # previous reading and both try to become the period's reading: the row lock
        # on the meter makes the second wait and then supersede the first. The calendar's
        # stamp comes with it, so a window this process has worked out costs no query.
        meter = (
            Meter.objects.select_for_update(of=("self",))
            .select_related("account")
            .annotate(calendar_stamp=selectors.calendar_stamp_subquery())
            .get(pk=meter.pk)
        )
        if not (meter.is_active and meter.account.is_active):
            raise MeterInactive(serial=meter.serial)
        window = selectors.window_on(day, stamp=meter.calendar_stamp)
        in_window = window.contains(day)
        receipt = receipt_new()
        base = selectors.submission_base(meter=meter, period=window.period, receipt=receipt)
        if base.receipt_taken:
            receipt = _receipt_unused()
        previous = base.previous
        assessment = assess(
            values,
            previous.values if previous else meter.initial_values,
            capacity=meter.capacity,
            months=selectors.months_between(previous.period, window.period) if previous else 1,
            usual_monthly=base.usual_monthly,
            rule=selectors.jump_rule(),
            confirmed=confirm,
        )
        replaced = None
        if in_window:
            status = Reading.Status.NEEDS_REVIEW if assessment.review_reason else Reading.Status.ACCEPTED
            # One by one (there is at most one), so the audit trail records the change.
            for earlier in base.standing:
                earlier.status = Reading.Status.SUPERSEDED
                earlier._history_user = submitted_by
                earlier.save(update_fields=["status"])
                replaced = earlier
        else:
            status = Reading.Status.CONTROL
        consumption = list(assessment.consumption or ())
        reading = Reading(
            meter=meter,
            period=window.period,
            value1=values[0],
            value2=_zone(values, 2),
            value3=_zone(values, 3),
            consumption1=_zone(consumption, 1),
            consumption2=_zone(consumption, 2),
            consumption3=_zone(consumption, 3),
            status=status,
            review_reason=assessment.review_reason,
            channel=channel,
            submitted_by=submitted_by,
            submitted_at=submitted_at,
            channel_user_key=channel_user_key,
            ip_address=ip_address,
            receipt=receipt,
            replaces=replaced,
        )
        reading._history_user = submitted_by  # the audit trail's "who" outside a web request too
        audited_insert(reading)
    reading.exported_at = None  # just made: no export has it (readings.selectors.passed_to_billing)
    # The calendar it was judged by: its windows are worked out again without a query (selectors).
    reading.calendar_stamp = meter.calendar_stamp
    return reading


def _receipt_unused() -> str:
    # A clash is one in a hundred million per reading; the unique constraint is the last word.
    while True:
        code = receipt_new()
        if not Reading.objects.filter(receipt=code).exists():
            return code


def _zone(values: Sequence[int], zone: int) -> int | None:
    return values[zone - 1] if len(values) >= zone else None


def reading_submit_by_number(
    *, account_number: str, meter_serial: str, text: str, ip_address: str, confirm: bool = False
) -> Reading:
    """A reading from someone not signed in, who proves the meter by account number and serial.

    It is recorded with the channel `quick`, and a refusal never tells the sender the
    meter's earlier readings (quick_words): knowing two numbers from a bill and a meter
    does not make one the household.

    Failed proofs count against the sender's address and the account number like
    linking attempts do, so the quick form cannot be used to find out which account
    numbers exist.
    """
    try:
        meter = account_meter_prove(account_number=account_number, meter_serial=meter_serial, ip_address=ip_address)
    except TooManyAttempts as refusal:
        raise TooManyQuickAttempts(**refusal.params) from None
    try:
        return reading_submit(
            meter=meter, text=text, channel=Reading.Channel.QUICK, confirm=confirm, ip_address=ip_address
        )
    except DomainError as refusal:
        raise quick_words(refusal) from None


def idempotency_key_use(
    *, user: User, key: str, request_hash: str, answer: Callable[[], tuple[int, Any]]
) -> tuple[int, Any]:
    """The (status, body) of a request sent with an Idempotency-Key: `answer`'s the first time,
    the same again for every retry of it, which changes nothing. A key that came with another
    request (another `request_hash`) is refused: IdempotencyKeyReused.

    An `answer` that raises is not kept: the refusal rolls the key back, and a retry is answered anew.
    """
    with transaction.atomic():
        # The row lock makes a concurrent retry wait for the first request and then repeat its answer.
        record, _created = IdempotencyKey.objects.select_for_update().get_or_create(
            user=user, key=key, defaults={"request_hash": request_hash}
        )
        if record.request_hash != request_hash:
            raise IdempotencyKeyReused()
        if record.status:
            return record.status, record.body
        record.status, record.body = answer()
        record.save(update_fields=["status", "body"])
        return record.status, record.body


def idempotency_keys_prune(*, before: dt.datetime) -> int:
    """Forget Idempotency-Key answers older than any client retries a request."""
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=before).delete()
    return deleted


# --- Staff review ------------------------------------------------------------------------------

MAX_REVIEW_NOTE = 300


def reading_approve(*, reading_id: int, reviewed_by: User) -> Reading:
    """A reading held for review becomes the period's accepted reading; the resident is told."""
    return _review(reading_id, reviewed_by, Reading.Status.ACCEPTED, note="")


def reading_reject(*, reading_id: int, reviewed_by: User, reason: str) -> Reading:
    """A reading held for review is rejected with a reason the resident reads."""
    reason = " ".join((reason or "").split())[:MAX_REVIEW_NOTE]
    if not reason:
        raise ReviewReasonRequired()
    return _review(reading_id, reviewed_by, Reading.Status.REJECTED, note=reason)


def reading_flag(*, reading_id: int, flagged_by: User, note: str = "") -> Reading:
    """Staff hold an accepted reading for review (it stays the period's reading meanwhile)."""
    with transaction.atomic():
        reading = Reading.objects.select_for_update().get(pk=reading_id)
        if reading.status != Reading.Status.ACCEPTED:
            raise FlagNotStanding(status=reading.get_status_display())
        reading.status = Reading.Status.NEEDS_REVIEW
        reading.review_reason = Reading.Reason.STAFF
        reading.review_note = " ".join((note or "").split())[:MAX_REVIEW_NOTE]
        reading._history_user = flagged_by
        reading.save(update_fields=["status", "review_reason", "review_note"])
    return reading


def _review(reading_id: int, reviewed_by: User, status: str, *, note: str) -> Reading:
    # The row lock: two members of staff deciding on one reading at once, one after the other.
    with transaction.atomic():
        reading = Reading.objects.select_for_update().get(pk=reading_id)
        if reading.status != Reading.Status.NEEDS_REVIEW:
            raise ReviewNotPending(status=reading.get_status_display())
        reading.status = status
        reading.reviewed_by = reviewed_by
        reading.reviewed_at = timezone.now()
        reading.review_note = note
        reading._history_user = reviewed_by
        reading.save(update_fields=["status", "reviewed_by", "reviewed_at", "review_note"])
        _notify_reviewed(reading.pk)
    return reading


def _notify_reviewed(reading_id: int) -> None:
    """The resident's message, written in the review's transaction (nothing is lost if the broker
    is down); the sender is asked to start once it is committed."""
    # Imported here: the bot builds on readings, not the other way round.
    from botbridge.services import notice_reading_reviewed
    from botbridge.tasks import deliveries_send

    notice = notice_reading_reviewed(reading_id=reading_id)
    if notice is not None:
        # The bot the reading came from and email: each channel has its own sender.
        for delivery_channel in sorted(set(notice.deliveries.values_list("channel", flat=True))):
            transaction.on_commit(lambda delivery_channel=delivery_channel: enqueue(deliveries_send, delivery_channel))


# --- Meter photos --------------------------------------------------------------------------------

PHOTOS_PER_READING = 5


def reading_photo_attach(*, reading_id: int, content: bytes, channel: str, uploaded_by: User | None) -> ReadingPhoto:
    """Keep a photo of the meter as evidence for a reading: checked and stripped of its metadata
    (readings.photos), stored under a random name. A superseded reading takes none: the later
    reading is the one staff look at."""
    channel = Reading.Channel(channel)
    photo = photo_clean(content)  # before the transaction: decoding a photo takes a while
    with transaction.atomic():
        # The row lock: two photos sent at once must not both pass the limit.
        reading = Reading.objects.select_for_update().get(pk=reading_id)
        if reading.status == Reading.Status.SUPERSEDED:
            raise PhotoNotAccepted(status=reading.get_status_display())
        if reading.photos.count() >= PHOTOS_PER_READING:
            raise PhotoLimitReached(limit=PHOTOS_PER_READING)
        kept = ReadingPhoto(
            reading=reading,
            width=photo.width,
            height=photo.height,
            size=len(photo.content),
            channel=channel,
            uploaded_by=uploaded_by,
            uploaded_at=timezone.now(),
        )
        # The name tells nothing (not the account, the reading or the time) and cannot be guessed.
        kept.file.save(f"{secrets.token_urlsafe(24)}.jpg", ContentFile(photo.content), save=False)
        try:
            kept.save(force_insert=True)
        except Exception:
            kept.file.delete(save=False)  # no row, no file: nothing half-written
            raise
    return kept


# --- Billing export ----------------------------------------------------------------------------


def export_batch_record(*, period: dt.date, kind: str, exported_by: User, new_only: bool = False) -> ExportBatch:
    """Record a run of the billing export and, in one INSERT … SELECT, the readings it gives.

    The export then streams exactly the batch's readings, so the file and the record agree
    whatever arrives meanwhile. `new_only`: only the period's readings that no completed batch
    gave billing with their current status (new ones, and ones approved, rejected or
    superseded since).
    """
    readings = Reading.objects.filter(period=period)
    if new_only:
        readings = readings.exclude(
            Exists(
                # The period's batches' rows: the period's readings are only ever in them.
                ExportedReading.objects.filter(
                    batch__period=period,
                    reading=OuterRef("pk"),
                    status=OuterRef("status"),
                    batch__completed_at__isnull=False,
                )
            )
        )
    with transaction.atomic():
        batch = ExportBatch(
            period=period,
            format=ExportBatch.Format(kind),
            new_only=new_only,
            exported_by=exported_by,
            started_at=timezone.now(),
            readings_count=0,
        )
        batch.full_clean()
        batch.save(force_insert=True)
        # One statement, however many rows: a million readings never pass through Python.
        rows = readings.order_by().annotate(batch_id=Value(batch.pk)).values_list("batch_id", "pk", "status")
        select, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ExportedReading._meta.db_table} (batch_id, reading_id, status) {select}", params
            )
            batch.readings_count = cursor.rowcount
        batch.save(update_fields=["readings_count"])
    return batch


def export_batch_complete(*, batch_id: int) -> None:
    """The batch's last row has gone out: from now on its readings count as passed to billing."""
    ExportBatch.objects.filter(pk=batch_id, completed_at__isnull=True).update(completed_at=timezone.now())


# --- The working calendar ----------------------------------------------------------------------


def calendar_override_save(
    *,
    date: dt.date,
    is_working: bool,
    saved_by: User,
    note: str = "",
    override_id: int | None = None,
    confirm: bool = False,
) -> CalendarOverride:
    """Make `date` a working day or a day off: a new override, or `override_id`'s changed.

    Raises WindowMoveConfirmation (nothing written) when the change moves the window open
    today, or the next one, and `confirm` is not set. The audit trail records who did it.
    """
    check_in_range(date)
    with transaction.atomic():
        override = CalendarOverride.objects.select_for_update().get(pk=override_id) if override_id else None
        changes: dict[dt.date, bool | None] = {override.date: None} if override else {}
        changes[date] = is_working
        _check_window_move(changes, confirm=confirm)
        override = override or CalendarOverride()
        override.date, override.is_working, override.note = date, is_working, note
        override.full_clean()
        override._history_user = saved_by
        override.save()
    return override


def calendar_override_delete(*, override_id: int, deleted_by: User, confirm: bool = False) -> None:
    """Remove an override: the date is working or not as the Ukrainian calendar has it.
    Refused like calendar_override_save when that moves the window and `confirm` is not set."""
    with transaction.atomic():
        override = CalendarOverride.objects.select_for_update().get(pk=override_id)
        _check_window_move({override.date: None}, confirm=confirm)
        override._history_user = deleted_by
        override.delete()


def _check_window_move(changes: dict[dt.date, bool | None], *, confirm: bool) -> None:
    move = selectors.window_move(changes=changes)
    if move and not confirm:
        raise WindowMoveConfirmation.between(*move)
