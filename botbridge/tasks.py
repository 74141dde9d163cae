"""Celery tasks of the bot: they take ids, call a service, and queue what comes next.

The schedule that runs them is in portal/celery.py, with every other periodic task.
"""

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
    """Start the reminders due now; a repeat is harmless. Also restarts an interrupted sender."""
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
    if not started and services.deliveries_waiting():
        deliveries_send.delay()
    return started


@shared_task
def broadcast_fill(broadcast_id: int) -> int:
    added = services.broadcast_fill(broadcast_id=broadcast_id)
    transaction.on_commit(deliveries_send.delay)
    return added


@shared_task
def deliveries_send() -> dict:
    report = sending.deliveries_send(stop_after_seconds=SEND_SLICE_SECONDS)
    if not report.skipped and services.deliveries_waiting():
        deliveries_send.delay()
    logger.info("broadcast sender: %s", report)
    return report.__dict__
