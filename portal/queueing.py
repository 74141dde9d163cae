"""Handing work to the Celery workers from a request, a command or admin, without ever failing it.

Whatever a task stands for is written to the database first (a broadcast to fill, a delivery to
send: the outbox), in the transaction of the change that causes it. Queueing the task only says
"soon": with the broker down the request still succeeds, and the schedule's outbox tick
(portal/celery.py) hands the work over when the broker is back.
"""

import logging

from celery import Task
from kombu.exceptions import OperationalError
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)


def enqueue(task: Task, *args: object) -> bool:
    """Queue `task(*args)`; False, logged, when the broker cannot be reached."""
    try:
        task.delay(*args)
    except (OperationalError, RedisError, OSError) as error:
        logger.warning("broker unreachable: %s%r left to the outbox tick (%s)", task.name, args, error)
        return False
    return True
