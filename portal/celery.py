"""The Celery app, and every periodic task of the portal, in this one place."""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

app.conf.beat_schedule = {
    # Window reminders: the task decides whether one is due (first or last day of the
    # window, from REMINDERS_HOUR); asking every five minutes lets a beat that was down
    # catch up the same day, and restarts a sender that died.
    "window-reminders": {"task": "botbridge.tasks.reminders_tick", "schedule": crontab(minute="*/5")},
    # The outbox: what a request wrote for the workers while the broker was down goes out within
    # a minute of its return; also restarts a sender that died.
    "outbox": {"task": "botbridge.tasks.outbox_tick", "schedule": 60.0},
    # Bookkeeping that is only needed for a while: processed update ids (Telegram re-delivers
    # for up to a day), Idempotency-Key answers, sign-in links, failed linking attempts, used
    # Telegram Login Widget answers, expired API tokens.
    "prune-processed-events": {"task": "botbridge.tasks.processed_events_prune", "schedule": crontab(3, 3)},
    "prune-idempotency-keys": {"task": "readings.tasks.idempotency_keys_prune", "schedule": crontab(13, 3)},
    "prune-accounts": {"task": "accounts.tasks.accounts_prune", "schedule": crontab(23, 3)},
}
