"""Window reminders through real Celery workers: Redis, PostgreSQL, the fake Bot API, 1,000 chats.

The workers are processes of their own (the solo pool: the process that takes a task runs
it, so a SIGKILL of the worker kills the sender mid-broadcast), on the test database, which
is why the tests commit their data. CI has PostgreSQL and Redis; elsewhere these skip.
"""

import datetime as dt
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches

from accounts.models import ChannelIdentity
from botbridge import sending, services, tasks
from botbridge.models import Broadcast, Delivery
from botbridge.tests.fake_bot_api import FakeBotAPI
from botbridge.tests.seeding import bot_users_create
from portal.celery import app

ROOT = Path(__file__).resolve().parents[2]
RATE = 500  # messages a second: 1,000 chats take two seconds
PER_TICK = round(RATE * sending.TICK_SECONDS)
PERIOD = dt.date(2026, 12, 1)  # the window of 27.11–03.12.2026
PENDING = [Delivery.Status.QUEUED, Delivery.Status.SENDING]

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the workers read what the test wrote
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis: set REDIS_URL=redis://… (CI does)"),
]


class CeleryWorker:
    """`celery worker` in a process group of its own, on the test database."""

    def __init__(self, env: dict[str, str]) -> None:
        name = f"pokaznyk-test-{secrets.token_hex(4)}@%h"
        command = [sys.executable, "-m", "celery", "-A", "portal", "worker", "--pool=solo", "--loglevel=warning"]
        command += ["-n", name, "--without-mingle", "--without-gossip", "--without-heartbeat"]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)

    def kill(self) -> None:
        """SIGKILL, as the out-of-memory killer or a lost machine would: nothing gets to clean up."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


def broker_clean() -> None:
    """Nothing from an earlier run may reach this test's workers: queued tasks are purged, the
    ones a killed worker held (Redis hands them out again after an hour) forgotten, and a dead
    sender's lock lifted."""
    app.control.purge()
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        channel.client.delete(channel.unacked_key, channel.unacked_index_key)
    caches["locks"].delete(sending.lock_key("telegram"))


@pytest.fixture
def worker_env(on_postgres, fake_bot_api) -> dict[str, str]:
    db = on_postgres.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    url = f"postgresql://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_"))},
        "DATABASE_URL": url,
        "REDIS_URL": settings.REDIS_URL,
        "DJANGO_DEBUG": "1",
        "TELEGRAM_BOT_TOKEN": fake_bot_api.token,
        "TELEGRAM_API_BASE": fake_bot_api.base_url,
        "TELEGRAM_BROADCAST_RATE": str(RATE),
    }


@pytest.fixture
def start_worker(worker_env) -> Iterator[Callable[[], CeleryWorker]]:
    broker_clean()
    workers: list[CeleryWorker] = []

    def start() -> CeleryWorker:
        workers.append(CeleryWorker(worker_env))
        return workers[-1]

    yield start
    for worker in workers:
        worker.kill()
    broker_clean()


def reminder_to(chat_ids: range, fake: FakeBotAPI) -> Broadcast:
    """The window-opens reminder, not yet filled, for bot users with one linked account each."""
    bot_users_create(chat_ids)
    for chat_id in chat_ids:
        fake.add_chat(chat_id)
    return services.broadcast_start(kind=Broadcast.Kind.WINDOW_OPENS, period=PERIOD)


def wait_until_sent(broadcast: Broadcast, *, timeout: float) -> None:
    """Until the broadcast is listed and nothing of it is queued or being sent."""
    deadline = time.monotonic() + timeout
    while True:
        broadcast.refresh_from_db()
        if broadcast.filled_at and not broadcast.deliveries.filter(status__in=PENDING).exists():
            return
        if time.monotonic() > deadline:
            statuses = Counter(broadcast.deliveries.values_list("status", flat=True))
            raise AssertionError(f"broadcast not sent within {timeout} s: {dict(statuses)}")
        time.sleep(0.1)


def messages_per_chat(fake: FakeBotAPI) -> Counter:
    return Counter(call.params["chat_id"] for call in fake.sent_messages())


def busiest_second(fake: FakeBotAPI) -> int:
    """The most messages the fake answered within any one second."""
    times = sorted(call.at for call in fake.calls_to("sendMessage"))
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


def chats_with(status: str) -> set[int]:
    return {int(key) for key in Delivery.objects.filter(status=status).values_list("recipient_key", flat=True)}


def test_every_reachable_chat_gets_one_reminder_through_429s_and_blocked_chats(start_worker, fake_bot_api):
    chats = range(10_000, 11_000)
    blocked = set(chats[::33])
    broadcast = reminder_to(chats, fake_bot_api)
    for chat_id in blocked:
        fake_bot_api.block_chat(chat_id)
    too_many = {"status": 429, "description": "Too Many Requests: retry after 1", "retry_after": 1}
    fake_bot_api.fail_next("sendMessage", **too_many, times=2)
    start_worker()
    tasks.broadcast_fill.delay(broadcast.pk)
    fake_bot_api.wait_for(lambda: len(fake_bot_api.sent_messages()) >= 400, timeout=30)
    fake_bot_api.fail_next("sendMessage", **too_many, times=3)  # and again half-way
    wait_until_sent(broadcast, timeout=30)
    assert messages_per_chat(fake_bot_api) == Counter(chat_id for chat_id in chats if chat_id not in blocked)
    assert len([call for call in fake_bot_api.calls_to("sendMessage") if call.status == 429]) == 5
    assert chats_with(Delivery.Status.BLOCKED) == blocked
    blocked_identities = ChannelIdentity.objects.filter(channel="telegram", blocked_at__isnull=False)
    assert {int(key) for key in blocked_identities.values_list("external_id", flat=True)} == blocked
    assert Delivery.objects.filter(status=Delivery.Status.SENT).count() == len(chats) - len(blocked)
    broadcast.refresh_from_db()
    assert broadcast.finished_at is not None


def test_a_broadcast_started_twice_on_two_workers_reaches_each_chat_once(start_worker, fake_bot_api):
    chats = range(20_000, 21_000)
    broadcast = reminder_to(chats, fake_bot_api)
    start_worker()
    start_worker()
    for _ in range(2):  # two beats, or a retry: two fills at once, and four senders (one queued by each fill)
        tasks.broadcast_fill.delay(broadcast.pk)
        tasks.deliveries_send.delay("telegram")
    wait_until_sent(broadcast, timeout=30)
    assert messages_per_chat(fake_bot_api) == Counter(chats)
    assert broadcast.deliveries.count() == len(chats)
    assert chats_with(Delivery.Status.SENT) == set(chats)
    # One sender at a time: two would have sent at twice the rate. (A second can hold the
    # answers of eleven ticks; one more for jitter.)
    assert busiest_second(fake_bot_api) <= RATE + 2 * PER_TICK


def test_a_worker_killed_mid_broadcast_sends_nothing_twice_and_the_next_one_finishes(start_worker, fake_bot_api):
    chats = range(30_000, 31_000)
    blocked = set(chats[::33])
    broadcast = reminder_to(chats, fake_bot_api)
    for chat_id in blocked:
        fake_bot_api.block_chat(chat_id)
    first = start_worker()
    tasks.broadcast_fill.delay(broadcast.pk)
    fake_bot_api.wait_for(lambda: len(fake_bot_api.sent_messages()) >= 300, timeout=30)
    first.kill()
    received_before = len(fake_bot_api.sent_messages())
    assert received_before < len(chats) - len(blocked)
    in_flight = chats_with(Delivery.Status.SENDING)
    start_worker()
    # What the five-minute reminders_tick does in production: the new sender waits for the
    # dead one's lock to expire, then marks what the dead one left `sending` as interrupted.
    tasks.deliveries_send.delay("telegram")
    wait_until_sent(broadcast, timeout=45)

    received = messages_per_chat(fake_bot_api)
    interrupted = chats_with(Delivery.Status.INTERRUPTED)
    print(
        f"killed after {received_before} messages; {len(interrupted)} interrupted, "
        f"{len(interrupted & set(received))} of them received by the fake"
    )
    assert max(received.values()) == 1
    assert not set(received) & blocked
    # Exactly what was in flight at the kill, and little: the tick being sent, and at most the
    # one before it whose answers were not written yet.
    assert interrupted == in_flight
    assert len(interrupted) <= 2 * PER_TICK
    reachable = set(chats) - blocked
    assert reachable - interrupted <= set(received)
    assert chats_with(Delivery.Status.SENT) == set(received) - interrupted
    assert chats_with(Delivery.Status.BLOCKED) == blocked - interrupted
    broadcast.refresh_from_db()
    assert broadcast.finished_at is not None
