"""Celery tasks of the bot: they take ids, call a service, and queue what comes next.

The schedule that runs them is in portal/celery.py, with every other periodic task.
"""

import datetime as dt
import logging

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from botbridge import reminders, sending, services
from readings.selectors import window_on

logger = logging.getLogger(__name__)

# A sender task gives its worker back after this long and queues its own continuation.
SEND_SLICE_SECONDS = 300


@shared_task
def reminders_tick() -> list[int]:
    """Start the reminders due now; a repeat is harmless."""
    if not settings.TELEGRAM_BOT_TOKEN:
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
    if not settings.TELEGRAM_BOT_TOKEN:
        return {}
    unfilled = services.broadcasts_unfilled()
    for broadcast_id in unfilled:
        broadcast_fill.delay(broadcast_id)  # listing twice adds nothing twice
    waiting = services.deliveries_waiting(channel=sending.CHANNEL)
    if waiting:
        deliveries_send.delay()  # a second sender finds the lock taken and stands down
    return {"broadcasts": len(unfilled), "send": int(waiting)}


@shared_task
def broadcast_fill(broadcast_id: int) -> int:
    added = services.broadcast_fill(broadcast_id=broadcast_id)
    transaction.on_commit(deliveries_send.delay)
    return added


@shared_task(bind=True)
def deliveries_send(self) -> dict:
    """Send what is queued for up to SEND_SLICE_SECONDS, then hand over to a new task."""
    report = sending.deliveries_send(stop_after_seconds=SEND_SLICE_SECONDS)
    logger.info("broadcast sender: %s", report)
    if report.skipped:
        # Another sender holds the lock: a live one, or one killed a moment ago whose lock
        # has not expired yet. Look once more after the lock would have expired.
        if not self.request.is_eager and self.request.retries == 0:
            raise self.retry(countdown=sending.LOCK_SECONDS + 1)
    elif services.deliveries_waiting(channel=sending.CHANNEL):
        deliveries_send.delay()
    return report.__dict__


@shared_task
def processed_updates_prune() -> int:
    return services.processed_updates_prune(before=timezone.now() - dt.timedelta(days=2))
