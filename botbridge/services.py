"""Writes of the bot's own bookkeeping: conversation state, processed updates, broadcasts."""

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone, translation

from accounts.identities import channel_identity_block
from accounts.models import AccountLink, ChannelIdentity, Meter, User
from botbridge import texts
from botbridge.errors import AnnouncementEmpty, AnnouncementTooLong
from botbridge.models import Broadcast, ConversationState, Delivery, ProcessedEvent
from botbridge.outbound import channels_on, sent_channels
from readings.models import Reading
from readings.selectors import STANDING, window_for_period

MAX_MESSAGE_LENGTH = 4096  # Telegram's limit for a message's text


def event_claim(*, channel: str, key: str) -> bool:
    """True the first time a platform's event is seen, False for every re-delivery of it.

    Inside a transaction the claim is undone with it: an event whose handling failed is
    handled again when the platform re-delivers it."""
    try:
        with transaction.atomic():
            ProcessedEvent.objects.create(channel=channel, key=key[:200])
    except IntegrityError:
        return False
    return True


def event_unclaim(*, channel: str, key: str) -> None:
    """Forget an event whose handling failed, so that its re-delivery is handled."""
    ProcessedEvent.objects.filter(channel=channel, key=key[:200]).delete()


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
    ConversationState.objects.update_or_create(
        channel=channel, user_key=user_key, defaults={"state": step or "", "data": data}
    )


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
    (the unique (broadcast, channel, recipient) row turns a repeat into nothing).
    """
    broadcast = Broadcast.objects.get(pk=broadcast_id)
    if broadcast.filled_at is not None:
        return 0
    window = window_for_period(broadcast.period) if broadcast.period else None
    added, after = 0, 0
    while True:
        identities = list(
            ChannelIdentity.objects.filter(channel__in=sent_channels(), blocked_at__isnull=True, pk__gt=after)
            .order_by("pk")
            .values_list("pk", "channel", "external_id", "user_id", "language_code")[:FILL_BATCH]
        )
        if not identities:
            break
        after = identities[-1][0]
        numbers = _reminder_accounts(broadcast, [identity[3] for identity in identities])
        deliveries = []
        for _pk, channel, external_id, user_id, language_code in identities:
            text = _broadcast_text(broadcast, window, numbers.get(user_id, []), language_code)
            if text:
                # In a private chat the bot writes to the person at their own id on the channel.
                deliveries.append(Delivery(broadcast=broadcast, channel=channel, recipient_key=external_id, text=text))
        added += len(Delivery.objects.bulk_create(deliveries, ignore_conflicts=True))
    Broadcast.objects.filter(pk=broadcast.pk, filled_at__isnull=True).update(filled_at=timezone.now())
    broadcasts_finish()  # a broadcast with no recipient, or sent while it was still being listed
    return added


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
    return deleted


def notice_reading_reviewed(*, reading_id: int) -> Broadcast | None:
    """Tell the resident in the bot what staff decided about a reading they sent there.

    One message through the broadcasts' sending path (its rate limit, 429 and 403
    handling). Readings sent on the web or through the API are not messaged: the
    cabinet and the API show the decision. Called inside the review's transaction, so
    the message is queued if and only if the decision is recorded (the outbox).
    """
    reading = Reading.objects.select_related("meter__account").get(pk=reading_id)
    if reading.channel not in sent_channels() or not reading.channel_user_key:
        return None
    identity = ChannelIdentity.objects.filter(channel=reading.channel, external_id=reading.channel_user_key).first()
    if identity is None or identity.blocked_at:
        return None
    with translation.override(texts.language_of(identity.language_code)):
        text = texts.review_outcome(reading)
    with transaction.atomic():
        notice = Broadcast.objects.create(kind=Broadcast.Kind.NOTICE, text=text, filled_at=timezone.now())
        Delivery.objects.create(
            broadcast=notice, channel=reading.channel, recipient_key=reading.channel_user_key, text=text
        )
    return notice
