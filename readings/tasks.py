"""Celery tasks of readings; the schedule is in portal/celery.py."""

import datetime as dt

from celery import shared_task
from django.utils import timezone

from readings import services


@shared_task
def idempotency_keys_prune() -> int:
    return services.idempotency_keys_prune(before=timezone.now() - dt.timedelta(days=2))
