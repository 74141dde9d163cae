"""Writes of the bot's own bookkeeping: conversation state, processed updates, broadcasts."""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation

from accounts.emails import email_language
from accounts.identities import channel_identity_block
from accounts.models import AccountLink, ChannelIdentity, Meter, User
from botbridge import texts
from botbridge.channels.email import letters
from botbridge.errors import AnnouncementEmpty, AnnouncementTooLong
from botbridge.models import Broadcast, ConversationState, Delivery, InboundEvent, ProcessedEvent
from botbridge.outbound import EMAIL, bot_channels, channels_on
from botbridge.routes import reminder_email_users, reminder_identities
from readings.models import Reading
from readings.selectors import STANDING, window_for_period

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for a message's text


def event_claim(*, channel: str, key: str) -> bool:
    """True the first time a platform's event is seen, False for every re-delivery of it.

    Inside a transaction the claim is undone with it: an event whose handling failed is
    handled again when the platform re-delivers it (or a worker tries it again). Committed
    with the conversation's writes, it is what makes the event done: a worker that dies after
    the commit leaves nothing to be done twice (the stored event is marked done by the worker
    only after the replies are sent, so the chat's next event waits for them).

    ON CONFLICT DO NOTHING rather than catching the IntegrityError: no savepoint around it, two
    round trips fewer on every event. A second process claiming the same key at once waits for
    the first one's transaction, and then inserts nothing (it committed) or claims it (it failed).
    """
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO botbridge_processedevent (channel, key, received_at) VALUES (%s, %s, %s) "
            "ON CONFLICT (channel, key) DO NOTHING",
            [channel, key[:200], now],
        )
        return cursor.rowcount == 1


def telegram_update_key(*, bot_id: int, update_id: int) -> str:
    return f"{bot_id}:{update_id}"


def conversation_load(*, channel: str, user_key: str) -> tuple[str | None, dict[str, Any]]:
    """Where the resident's conversation stands: (step, data); (None, {}) when it is at rest.

    Inside a transaction the row is locked until it ends: two messages of one resident
    handled at once by two processes take their turns instead of both moving on from the
    same step.
    """
    rows = ConversationState.objects.filter(channel=channel, user_key=user_key)
    if transaction.get_connection().in_atomic_block:
        rows = rows.select_for_update()
    row = rows.values_list("state", "data").first()
    if row is None:
        return None, {}
    return row[0] or None, row[1]


def conversation_save(*, channel: str, user_key: str, step: str | None, data: dict[str, Any]) -> None:
    """One statement, whether the row exists or not: `conversation_load` has read (and locked)
    it already, so reading it again to choose between UPDATE and INSERT would be waste."""
    row = ConversationState(channel=channel, user_key=user_key, state=step or "", data=data)
    ConversationState.objects.bulk_create(
        [row],
        update_conflicts=True,
        unique_fields=["channel", "user_key"],
        update_fields=["state", "data", "updated_at"],
    )


# --- Inbound events: stored by the webhooks, conversed by the workers ------------------------------


@dataclass(frozen=True)
class Inbound:
    """An event to store: its channel, its key there, the chat it orders in, the platform's JSON."""

    channel: str
    key: str
    chat_key: str
    payload: str


@dataclass(frozen=True)
class Leased:
    id: int
    channel: str
    key: str
    chat_key: str
    payload: str
    attempts: int
    leased_until: dt.datetime  # the lease's end, which also names it: a later lease of the event ends later


def events_store(*, events: list[Inbound]) -> int:
    """Store events for the workers; how many were new. One INSERT … ON CONFLICT DO NOTHING and
    no model built: this is the whole of a webhook's work, and a re-delivery changes nothing."""
    if not events:
        return 0
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    values = ", ".join(["(%s, %s, %s, %s, %s, 0)"] * len(events))
    params = [
        field
        for event in events
        for field in (event.channel, event.key[:200], event.chat_key[:200], event.payload, now)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO botbridge_inboundevent (channel, key, chat_key, payload, received_at, attempts) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (channel, key) DO NOTHING",
            params,
        )
        return max(cursor.rowcount, 0)


def event_lease(*, seconds: float, channel: str = "", chat_key: str = "") -> Leased | None:
    """The next event a worker may take, leased to it for `seconds`; None when there is none."""
    leased = events_lease(seconds=seconds, limit=1, channel=channel, chat_key=chat_key)
    return leased[0] if leased else None


def events_lease(*, seconds: float, limit: int, channel: str = "", chat_key: str = "") -> list[Leased]:
    """Up to `limit` events a worker may take, leased to it for `seconds`, oldest first.

    Each the oldest waiting event of its chat, none of whose earlier events is waiting, and not
    leased to another worker (or leased to one whose lease ran out: it died). So the events of
    one lease are of different chats, and a chat's events go one at a time and in order,
    whatever the number of workers. SKIP LOCKED: two workers leasing at once take different
    events instead of queueing on one row. Several in one statement: a deep queue costs one
    round trip per `limit` events instead of one each. `channel` and `chat_key` limit it to one
    chat (a webhook working inline on the event it just stored).
    """
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    params: list = [adapt(now)]
    one_chat = ""
    if chat_key:
        one_chat = "AND e.channel = %s AND e.chat_key = %s"
        params += [channel, chat_key]
    params += [limit, adapt(now + dt.timedelta(seconds=seconds))]
    skip_locked = "FOR UPDATE SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    with connection.cursor() as cursor:
        cursor.execute(
            # The events picked once, in a CTE of their own: PostgreSQL may run an `IN (subquery)`
            # with a LIMIT and SKIP LOCKED more than once per statement, and then picks other rows.
            "WITH picked AS MATERIALIZED ("  # noqa: S608
            " SELECT e.id FROM botbridge_inboundevent e"
            " WHERE e.done_at IS NULL AND (e.leased_until IS NULL OR e.leased_until < %s) "
            f" {one_chat}"
            " AND NOT EXISTS (SELECT 1 FROM botbridge_inboundevent o WHERE o.done_at IS NULL"
            "  AND o.channel = e.channel AND o.chat_key = e.chat_key AND o.id < e.id)"
            f" ORDER BY e.id LIMIT %s {skip_locked}"
            ") UPDATE botbridge_inboundevent SET leased_until = %s, attempts = attempts + 1"
            " WHERE done_at IS NULL AND id IN (SELECT id FROM picked)"
            " RETURNING id, channel, key, chat_key, payload, attempts, leased_until",
            params,
        )
        rows = cursor.fetchall()
    until = now + dt.timedelta(seconds=seconds)  # as stored (SQLite returns it as text)
    return sorted((Leased(*row[:6], until) for row in rows), key=lambda leased: leased.id)


def events_release(*, leased: list[Leased]) -> None:
    """Leased events a worker did not start on (it is stopping, or its lease is running out):
    waiting again at once, this lease not counted as an attempt (nothing of them was tried).
    Only while the lease is still this worker's: an event whose lease ran out may be another's now."""
    for event in leased:
        InboundEvent.objects.filter(pk=event.id, done_at__isnull=True, leased_until=event.leased_until).update(
            leased_until=None, attempts=F("attempts") - 1
        )


def event_done(*, event_id: int) -> None:
    """The worker is through with the event (a no-op when its conversation's claim did it)."""
    InboundEvent.objects.filter(pk=event_id, done_at__isnull=True).update(done_at=timezone.now())


def event_retry(*, event_id: int, after_seconds: float) -> None:
    """Handling failed (the database or the platform was down): try again after a while; the
    chat's later events wait for it, so they still come in order."""
    InboundEvent.objects.filter(pk=event_id, done_at__isnull=True).update(
        leased_until=timezone.now() + dt.timedelta(seconds=after_seconds)
    )


def events_waiting() -> int:
    return InboundEvent.objects.filter(done_at__isnull=True).count()


# --- Broadcasts: window reminders and announcements ------------------------------------------

FILL_BATCH = 1000


def broadcast_start(*, kind: str, period: dt.date) -> Broadcast:
    """The reminder of `kind` for the window of `period`: made once, however often this is called."""
    try:
        with transaction.atomic():
            return Broadcast.objects.create(kind=kind, period=period)
    except IntegrityError:
        # The schedule ran twice (two beats, a retry): the first one made it.
        return Broadcast.objects.get(kind=kind, period=period)


def broadcast_announce(*, text: str, created_by: User | None) -> Broadcast:
    """A staff announcement to every bot user who has not blocked the bot."""
    return Broadcast.objects.create(
        kind=Broadcast.Kind.ANNOUNCEMENT, text=announcement_text(text), created_by=created_by
    )


def announcement_text(text: str) -> str:
    """An announcement's text as it will be sent, or the refusal that says what to change."""
    text = (text or "").strip()
    if not text:
        raise AnnouncementEmpty()
    if len(text) > MAX_MESSAGE_LENGTH:
        raise AnnouncementTooLong(length=len(text), limit=MAX_MESSAGE_LENGTH)
    return text


def broadcast_fill(*, broadcast_id: int) -> int:
    """List the broadcast's recipients as queued deliveries, in batches; safe to run again.

    A run killed half-way leaves the deliveries it made; the next run adds the rest
    (the unique (broadcast, channel, recipient) row turns a repeat into nothing). Reminders go
    to each bot identity and each confirmed address with reminders on there (botbridge.routes);
    announcements to the bots only: staff write them for chats, and email is for the window
    and the resident's own readings.
    """
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    if broadcast.filled_at is not None:
        return 0
    window = window_for_period(broadcast.period) if broadcast.period else None
    added = _fill_bots(broadcast, window)
    if broadcast.kind != Broadcast.Kind.ANNOUNCEMENT:
        added += _fill_email(broadcast, window)
    Broadcast.objects.filter(pk=broadcast.pk, filled_at__isnull=True).update(filled_at=timezone.now())
    broadcasts_finish()  # a broadcast with no recipient, or sent while it was still being listed
    return added


def _fill_bots(broadcast: Broadcast, window) -> int:
    if broadcast.kind == Broadcast.Kind.ANNOUNCEMENT:
        identities = ChannelIdentity.objects.filter(channel__in=bot_channels(), blocked_at__isnull=True)
    else:
        identities = reminder_identities()
    added, after = 0, 0
    while True:
        batch = list(
            identities.filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "channel", "external_id", "user_id", "language_code")[:FILL_BATCH]
        )
        if not batch:
            return added
        after = batch[-1][0]
        numbers = _reminder_accounts(broadcast, [identity[3] for identity in batch])
        deliveries = []
        for _pk, channel, external_id, user_id, language_code in batch:
            text = _broadcast_text(broadcast, window, numbers.get(user_id, []), language_code)
            if text:
                # In a private chat the bot writes to the person at their own id on the channel.
                deliveries.append(Delivery(broadcast=broadcast, channel=channel, recipient_key=external_id, text=text))
        added += len(Delivery.objects.bulk_create(deliveries, ignore_conflicts=True))


def _fill_email(broadcast: Broadcast, window) -> int:
    added, after = 0, 0
    while True:
        batch = list(
            reminder_email_users()
            .filter(pk__gt=after)
            .order_by("pk")
            .values_list("pk", "email", "language")[:FILL_BATCH]
        )
        if not batch:
            return added
        after = batch[-1][0]
        numbers = _reminder_accounts(broadcast, [user_id for user_id, _email, _language in batch])
        deliveries = []
        for user_id, email, language in batch:
            if not numbers.get(user_id):
                continue  # nothing to remind this resident of
            with translation.override(language or settings.LANGUAGE_CODE):
                if broadcast.kind == Broadcast.Kind.WINDOW_OPENS:
                    text = letters.reminder_window_opens(window, numbers[user_id])
                else:
                    text = letters.reminder_last_day(window, numbers[user_id])
            # The address in lower case: one email per address and window, however it was typed.
            deliveries.append(Delivery(broadcast=broadcast, channel=EMAIL, recipient_key=email.lower(), text=text))
        added += len(Delivery.objects.bulk_create(deliveries, ignore_conflicts=True))


def _reminder_accounts(broadcast: Broadcast, user_ids: list[int]) -> dict[int, list[str]]:
    """Per user, the account numbers a reminder names: with reminders on, and on the last day
    only those still without a reading for the window's period."""
    if broadcast.kind == Broadcast.Kind.ANNOUNCEMENT:
        return {}
    links = AccountLink.objects.filter(user_id__in=user_ids, reminders_enabled=True, account__is_active=True)
    pairs = list(links.order_by("account__number").values_list("user_id", "account_id", "account__number"))
    if broadcast.kind == Broadcast.Kind.LAST_DAY:
        missing = _accounts_without_reading({account for _user, account, _number in pairs}, broadcast.period)
        pairs = [pair for pair in pairs if pair[1] in missing]
    numbers: dict[int, list[str]] = {}
    for user_id, _account, number in pairs:
        numbers.setdefault(user_id, []).append(number)
    return numbers


def _accounts_without_reading(account_ids: set[int], period: dt.date) -> set[int]:
    """Accounts with an active meter that has no standing reading for `period`."""
    meters = list(Meter.objects.filter(account_id__in=account_ids, is_active=True).values_list("pk", "account_id"))
    done = set(
        Reading.objects.filter(
            meter_id__in=[pk for pk, _account in meters], period=period, status__in=STANDING
        ).values_list("meter_id", flat=True)
    )
    return {account for pk, account in meters if pk not in done}


def _broadcast_text(broadcast: Broadcast, window, numbers: list[str], language_code: str) -> str:
    if broadcast.kind == Broadcast.Kind.ANNOUNCEMENT:
        return broadcast.text
    if not numbers:
        return ""  # nothing to remind this user of
    with translation.override(texts.language_of(language_code)):
        if broadcast.kind == Broadcast.Kind.WINDOW_OPENS:
            return texts.reminder_window_opens(window, numbers)
        return texts.reminder_last_day(window, numbers)


def deliveries_claim(*, channel: str, limit: int) -> list[Delivery]:
    """The next queued deliveries that may go now, marked `sending` before anything is sent.

    Marked first, so a worker killed while sending leaves them `sending`, never queued:
    at most once. select_for_update(skip_locked) lets a second sender (there should be
    one only; this guards the case of two) take other rows instead of the same ones.
    """
    now = timezone.now()
    with transaction.atomic():
        due = Delivery.objects.filter(channel=channel, status=Delivery.Status.QUEUED).filter(
            Q(not_before__isnull=True) | Q(not_before__lte=now)
        )
        # With its broadcast (a transport may need its kind), locking the deliveries' rows only.
        picked = list(
            due.select_related("broadcast").select_for_update(skip_locked=True, of=("self",)).order_by("pk")[:limit]
        )
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in picked]).update(
            status=Delivery.Status.SENDING, attempts=F("attempts") + 1
        )
        broadcast_ids = {delivery.broadcast_id for delivery in picked}
        Broadcast.objects.filter(pk__in=broadcast_ids, started_at__isnull=True).update(started_at=now)
    for delivery in picked:
        delivery.attempts += 1
    return picked


def deliveries_record(*, sent: list[int], blocked: list[int], failed: dict[int, str], retry: dict[int, tuple]) -> None:
    """What became of claimed deliveries: sent, blocked (the chat is marked), failed, or queued
    again not before a time (a 429 or a transient error)."""
    now = timezone.now()
    with transaction.atomic():
        if sent:
            Delivery.objects.filter(pk__in=sent).update(status=Delivery.Status.SENT, sent_at=now, error="")
        if blocked:
            rows = Delivery.objects.filter(pk__in=blocked)
            rows.update(status=Delivery.Status.BLOCKED, error="403")
            # The recipient is marked as every channel's webhook marks them: they get nothing more.
            for channel, recipient in set(rows.values_list("channel", "recipient_key")):
                channel_identity_block(channel=channel, external_id=recipient, blocked=True)
        for pk, error in failed.items():
            Delivery.objects.filter(pk=pk).update(status=Delivery.Status.FAILED, error=error[:300])
        for pk, (not_before, error) in retry.items():
            Delivery.objects.filter(pk=pk).update(
                status=Delivery.Status.QUEUED, not_before=not_before, error=error[:300]
            )
        broadcasts_finish()


def broadcasts_finish() -> None:
    """Mark filled broadcasts with nothing left to send as finished."""
    open_ones = Broadcast.objects.filter(filled_at__isnull=False, finished_at__isnull=True)
    pending = Delivery.objects.filter(
        broadcast=OuterRef("pk"), status__in=[Delivery.Status.QUEUED, Delivery.Status.SENDING]
    )
    open_ones.filter(~Exists(pending)).update(finished_at=timezone.now())


def deliveries_recover(*, channel: str) -> int:
    """Deliveries a dead sender of the channel left `sending`: they may or may not have arrived.

    Called by a sender that has just taken the channel's sender lock, so no live sender owns
    them (the other channels' senders, with locks of their own, may: hence the channel).
    They are never sent again (at most once); staff see them as interrupted.
    """
    sending = Delivery.objects.filter(channel=channel, status=Delivery.Status.SENDING)
    return sending.update(status=Delivery.Status.INTERRUPTED)


def broadcasts_unfilled() -> list[int]:
    """Broadcasts whose recipients are not listed yet: an announcement whose listing task was
    never queued (the broker was down) or died."""
    return list(Broadcast.objects.filter(filled_at__isnull=True).order_by("pk").values_list("pk", flat=True))


def deliveries_waiting(*, channel: str) -> bool:
    """Whether anything is still queued for the channel, due now or later (a 429 or a backoff)."""
    return Delivery.objects.filter(channel=channel, status=Delivery.Status.QUEUED).exists()


def channels_waiting() -> list[str]:
    """The channels that are on and have something queued: each needs its sender."""
    return [channel for channel in channels_on() if deliveries_waiting(channel=channel)]


def processed_events_prune(*, before: dt.datetime) -> int:
    """Forget events seen before `before`: the platforms stop re-delivering within a day."""
    deleted, _ = ProcessedEvent.objects.filter(received_at__lt=before).delete()
    InboundEvent.objects.filter(received_at__lt=before, done_at__isnull=False).delete()
    return deleted


def notice_reading_reviewed(*, reading_id: int) -> Broadcast | None:
    """Tell the resident what staff decided about a reading they sent: in the bot they sent it
    from, and by email at their confirmed address.

    One notice through the broadcasts' sending path (its rate limit, 429 and 403 handling), with
    a delivery per channel. A reading sent on the web or through the API is told by email only
    (the cabinet and the API show the decision too); one from the quick form or the phone has
    no resident to tell. Called inside the review's transaction, so the message is queued if
    and only if the decision is recorded (the outbox).
    """
    reading = Reading.objects.select_related("meter__account", "submitted_by").get(pk=reading_id)
    deliveries = []
    if reading.channel in bot_channels() and reading.channel_user_key:
        identity = ChannelIdentity.objects.filter(
            channel=reading.channel, external_id=reading.channel_user_key, blocked_at__isnull=True
        ).first()
        if identity is not None:
            with translation.override(texts.language_of(identity.language_code)):
                text = texts.review_outcome(reading)
            deliveries.append(Delivery(channel=reading.channel, recipient_key=reading.channel_user_key, text=text))
    resident = reading.submitted_by
    if resident is not None and resident.is_active and resident.email and resident.email_verified_at:
        with translation.override(email_language(resident)):
            text = letters.review_outcome(reading)
        deliveries.append(Delivery(channel=EMAIL, recipient_key=resident.email.lower(), text=text))
    if not deliveries:
        return None
    with transaction.atomic():
        notice = Broadcast.objects.create(kind=Broadcast.Kind.NOTICE, text=deliveries[0].text, filled_at=timezone.now())
        for delivery in deliveries:
            delivery.broadcast = notice
        Delivery.objects.bulk_create(deliveries)
    return notice
