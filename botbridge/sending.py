"""The one rate-limited path every broadcast message takes, on every channel.

One sender runs at a time per channel (a lock in the cache: Redis in production), so its
pace is the channel's pace: the transport's rate of messages a second over all recipients,
in ticks of a tenth of a second, and never two messages to one recipient within the
transport's per-recipient interval. What is platform-specific (the API calls and what their
answers mean) is in the channel's transport (botbridge.outbound); this loop is the same for all.

A delivery is marked `sending` in the same moment it is taken, a few milliseconds
before its request leaves, and `sent` when the platform answers. At most two ticks are
unanswered at a time (MAX_TICKS_IN_FLIGHT), so a sender killed in between leaves at most those
ticks' messages `sending`; the next sender of the channel marks
them interrupted and never sends them again, so nobody gets a message twice.

The answers: retry-after (a 429) pauses the whole sender for that long (the limit is the
bot's, not the recipient's) and queues the message again; blocked marks the recipient, who
gets nothing more; failed fails the message; transient trouble queues it again with a
growing delay, up to the transport's number of attempts (BROADCAST_ATTEMPTS).
"""

import asyncio
import collections
import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field

from asgiref.sync import async_to_sync, sync_to_async
from django.core.cache import caches
from django.utils import timezone

from botbridge import outbound, services
from botbridge.models import Delivery
from botbridge.outbound import Blocked, Failed, RetryAfter, Sent, Transient, Transport

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.1
LOCK_SECONDS = 15  # renewed every tick; a killed sender's lock frees itself after this
MAX_BACKOFF_SECONDS = 300
IDLE_POLL_SECONDS = 1.0
MAX_TICKS_IN_FLIGHT = 2  # ticks sent and not yet answered: what a killed sender can leave interrupted


def lock_key(channel: str) -> str:
    # One lock per channel: a Viber sender does not wait for Telegram's.
    return f"botbridge:broadcast-sender:{channel}"


@dataclass
class Report:
    sent: int = 0
    blocked: int = 0
    failed: int = 0
    retried: int = 0
    interrupted: int = 0
    seconds: float = 0.0
    skipped: str = ""  # why nothing was sent, when another sender holds the lock


@dataclass
class Outcomes:
    """One tick's answers, written to the database in one transaction."""

    sent: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    failed: dict[int, str] = field(default_factory=dict)
    retry: dict[int, tuple[dt.datetime, str]] = field(default_factory=dict)


class SenderLock:
    """At most one sender per channel, across processes: the cache's atomic add.

    In the "locks" cache, which fails loudly: with Redis down the sender stops (its task is
    retried), where the default cache would pretend the lock was taken or free."""

    def __init__(self, channel: str) -> None:
        self.key = lock_key(channel)
        self.token = secrets.token_hex(8)
        self.cache = caches["locks"]

    def acquire(self) -> bool:
        return self.cache.add(self.key, self.token, timeout=LOCK_SECONDS)

    def renew(self) -> None:
        self.cache.touch(self.key, timeout=LOCK_SECONDS)

    def release(self) -> None:
        # Only our own lock: after a long stall another sender may hold it now.
        if self.cache.get(self.key) == self.token:
            self.cache.delete(self.key)


def deliveries_send(*, channel: str, stop_after_seconds: float | None = None) -> Report:
    """Send every due delivery of the channel, then return; a no-op while another sender of the
    channel runs."""
    if not outbound.channel_is_on(channel):
        return Report(skipped=outbound.TRANSPORTS[channel].why_off())
    lock = SenderLock(channel)
    if not lock.acquire():
        return Report(skipped="another sender is running")
    started = time.monotonic()
    try:
        report = Report(interrupted=services.deliveries_recover(channel=channel))
        # async_to_sync, not asyncio.run: the database calls inside come back to this thread
        # and its connection (and, in tests, its transaction).
        async_to_sync(Sender(channel, lock, report, stop_after_seconds).run)()
    finally:
        lock.release()
    report.seconds = time.monotonic() - started
    return report


class SendWindow:
    """At most `rate` messages leave in any second, counted when each one leaves.

    Ticks decide how many are claimed; a tick's messages can leave late (a busy thread, an
    answer awaited), and late ones would bunch up with the next tick's. Each message takes the
    next free moment here before it leaves: the moment a second after the one `rate` places
    back, or now."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.moments: collections.deque[float] = collections.deque(maxlen=rate)

    async def take(self) -> None:
        moment = time.monotonic()
        if len(self.moments) == self.rate:
            moment = max(moment, self.moments[0] + 1.0)
        self.moments.append(moment)  # taken before the wait: the next caller queues behind it
        if (left := moment - time.monotonic()) > 0:
            await asyncio.sleep(left)


class Sender:
    def __init__(self, channel: str, lock: SenderLock, report: Report, stop_after_seconds: float | None) -> None:
        self.channel = channel
        self.lock = lock
        self.report = report
        self.ticks_per_second = round(1 / TICK_SECONDS)
        self.carry = 0
        self.deadline = None if stop_after_seconds is None else time.monotonic() + stop_after_seconds
        self.paused_until = 0.0
        self.last_sent: dict[str, float] = {}
        self.in_flight: set[asyncio.Task] = set()
        self.window: SendWindow | None = None

    async def run(self) -> None:
        # Made inside the event loop: a transport's HTTP session belongs to the loop it runs on.
        transport = outbound.transport_make(self.channel)
        try:
            await self._loop(transport)
        finally:
            if self.in_flight:
                await asyncio.gather(*self.in_flight)
            await transport.close()

    async def _loop(self, transport: Transport) -> None:
        tick = time.monotonic()
        while self.deadline is None or time.monotonic() < self.deadline:
            # Ticks are kept on a fixed grid, so slow answers do not slow the pace. A sender that
            # fell behind (a stall, an idle second) goes on from now instead of catching up in a
            # burst of ticks: platforms count messages per second.
            tick = max(tick + TICK_SECONDS, time.monotonic(), self.paused_until)
            await self._wait_until(tick)
            # Whole messages a tick, the remainder carried over: 25 a second is 2, 3, 2, 3, … a
            # tick (rounding 2.5 down sent 20), and 1 a second is one message every tenth tick.
            limit, self.carry = divmod(self.carry + transport.rate, self.ticks_per_second)
            if not limit:
                continue
            if len(self.in_flight) >= MAX_TICKS_IN_FLIGHT:
                # The platform answers slower than the ticks come: wait for a tick's answers before
                # claiming more. Otherwise claimed-but-unanswered messages pile up, and a sender
                # killed then leaves all of them interrupted (never sent, at most once).
                await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
            batch = await sync_to_async(services.deliveries_claim)(channel=self.channel, limit=limit)
            if batch:
                task = asyncio.create_task(self._send_tick(transport, batch))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                continue
            if not self.in_flight and not await sync_to_async(services.deliveries_waiting)(channel=self.channel):
                return
            await self._wait_until(time.monotonic() + IDLE_POLL_SECONDS)

    async def _wait_until(self, moment: float) -> None:
        """Sleep until `moment`, keeping the sender lock: a 429 pause or an idle wait can be
        longer than the lock lives, and a lapsed lock would let a second sender start.

        A retry-after answered while this waits moves `moment` on: the tick was planned before
        that answer, and sending in it would write to a platform that asked for a pause."""
        while True:
            await sync_to_async(self.lock.renew)()
            left = max(moment, self.paused_until) - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, LOCK_SECONDS / 3))

    async def _send_tick(self, transport: Transport, batch: list[Delivery]) -> None:
        outcomes = Outcomes()
        await asyncio.gather(*(self._send_one(transport, delivery, outcomes) for delivery in batch))
        await sync_to_async(services.deliveries_record)(
            sent=outcomes.sent, blocked=outcomes.blocked, failed=outcomes.failed, retry=outcomes.retry
        )
        self.report.sent += len(outcomes.sent)
        self.report.blocked += len(outcomes.blocked)
        self.report.failed += len(outcomes.failed)
        self.report.retried += len(outcomes.retry)

    async def _send_one(self, transport: Transport, delivery: Delivery, outcomes: Outcomes) -> None:
        now = time.monotonic()
        interval = transport.per_recipient_interval
        last = self.last_sent.get(delivery.recipient_key)
        if last is not None and now - last < interval:
            # Two messages for one recipient too close together: the second waits its turn.
            outcomes.retry[delivery.pk] = (_after(interval), "one message a second per chat")
            return
        self.last_sent[delivery.recipient_key] = now
        if self.window is None:
            self.window = SendWindow(transport.rate)
        await self.window.take()
        match await transport.send(delivery.recipient_key, delivery.text, kind=delivery.broadcast.kind):
            case Sent():
                outcomes.sent.append(delivery.pk)
            case Blocked():
                outcomes.blocked.append(delivery.pk)
            case RetryAfter(seconds=seconds):
                self.paused_until = max(self.paused_until, time.monotonic() + seconds)
                outcomes.retry[delivery.pk] = (_after(seconds), f"429: retry after {seconds} s")
            case Transient(error=error):
                self._transient(transport, delivery, outcomes, error)
            case Failed(error=error):
                outcomes.failed[delivery.pk] = error

    def _transient(self, transport: Transport, delivery: Delivery, outcomes: Outcomes, error: str) -> None:
        if delivery.attempts >= transport.attempts:
            outcomes.failed[delivery.pk] = f"gave up after {delivery.attempts} attempts: {error}"
            return
        backoff = min(MAX_BACKOFF_SECONDS, 2**delivery.attempts)
        outcomes.retry[delivery.pk] = (_after(backoff), error)


def _after(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)
