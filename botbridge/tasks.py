"""Celery tasks of the bot: they take ids, call a service, and queue what comes next.

The schedule that runs them is in portal/celery.py, with every other periodic task.
"""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from botbridge import outbound, reminders, sending, services
from readings.selectors import window_on

logger = logging.getLogger(__name__)

# A sender task gives its worker back after this long and queues its own continuation.
SEND_SLICE_SECONDS = 300


@shared_task
def reminders_tick() -> list[int]:
    """Start the reminders due now; a repeat is harmless."""
    if not outbound.channels_on():
        return []
    now = timezone.localtime()
    window = window_on(now.date())
    started = []
    for kind in reminders.reminders_due(now, window, hour=settings.REMINDERS_HOUR):
        broadcast = services.broadcast_start(kind=kind, period=window.period)
        if broadcast.filled_at is None:
            broadcast_fill.delay(broadcast.pk)
            started.append(broadcast.pk)
    return started


@shared_task
def outbox_tick() -> dict[str, int]:
    """Hand over what requests wrote for the workers but could not queue (the broker was down),
    and restart a sender that died: broadcasts still to be listed, deliveries still queued."""
    if not outbound.channels_on():
        return {}
    unfilled = services.broadcasts_unfilled()
    for broadcast_id in unfilled:
        broadcast_fill.delay(broadcast_id)  # listing twice adds nothing twice
    waiting = services.channels_waiting()
    for channel in waiting:
        deliveries_send.delay(channel)  # a second sender finds the channel's lock taken and stands down
    return {"broadcasts": len(unfilled), "send": len(waiting)}


@shared_task
def broadcast_fill(broadcast_id: int) -> int:
    added = services.broadcast_fill(broadcast_id=broadcast_id)
    transaction.on_commit(senders_start)
    return added


def senders_start() -> None:
    """A sender for each channel with something queued."""
    for channel in services.channels_waiting():
        deliveries_send.delay(channel)


@shared_task(bind=True)
def deliveries_send(self, channel: str) -> dict:
    """Send what is queued for the channel for up to SEND_SLICE_SECONDS, then hand over to a new task."""
    report = sending.deliveries_send(channel=channel, stop_after_seconds=SEND_SLICE_SECONDS)
    logger.info("%s sender: %s", channel, report)
    if report.skipped:
        # Another sender holds the lock: a live one, or one killed a moment ago whose lock
        # has not expired yet. Look once more after the lock would have expired.
        if not self.request.is_eager and self.request.retries == 0:
            raise self.retry(countdown=sending.LOCK_SECONDS + 1)
    elif services.deliveries_waiting(channel=channel):
        deliveries_send.delay(channel)
    return report.__dict__


@shared_task
def processed_events_prune() -> int:
    return services.processed_events_prune(before=timezone.now() - dt.timedelta(days=2))
