"""The one rate-limited path every broadcast message takes to Telegram.

One sender runs at a time (a lock in the cache: Redis in production), so its pace is
the bot's pace: TELEGRAM_BROADCAST_RATE messages a second over all chats, in ticks
of a tenth of a second, and never two messages within a second to one chat.

A delivery is marked `sending` in the same moment it is taken, a few milliseconds
before its request leaves, and `sent` when Telegram answers. A sender killed in
between leaves only that tick's messages `sending`; the next sender marks them
interrupted and never sends them again, so no chat gets a message twice.

Telegram's answers: 429 pauses the whole sender for `retry_after` (the limit is the
bot's, not the chat's) and queues the message again; 403 means the user blocked the
bot: the chat is marked and gets nothing more; other 4xx fail the message; network
trouble and 5xx queue it again with a growing delay, up to
TELEGRAM_BROADCAST_ATTEMPTS attempts.
"""

import asyncio
import datetime as dt
import logging
import secrets
import time
from dataclasses import dataclass, field

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import LinkPreviewOptions
from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.core.cache import caches
from django.utils import timezone

from botbridge import services
from botbridge.models import Delivery

logger = logging.getLogger(__name__)

TICK_SECONDS = 0.1
CHAT_INTERVAL_SECONDS = 1.0  # Telegram: no more than one message a second to one chat
LOCK_KEY = "botbridge:broadcast-sender"
LOCK_SECONDS = 15  # renewed every tick; a killed sender's lock frees itself after this
MAX_BACKOFF_SECONDS = 300
IDLE_POLL_SECONDS = 1.0
CHANNEL = "telegram"  # the deliveries this sender takes; other channels get transports of their own


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
    """At most one sender per bot, across processes: the cache's atomic add.

    In the "locks" cache, which fails loudly: with Redis down the sender stops (its task is
    retried), where the default cache would pretend the lock was taken or free."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        self.cache = caches["locks"]

    def acquire(self) -> bool:
        return self.cache.add(LOCK_KEY, self.token, timeout=LOCK_SECONDS)

    def renew(self) -> None:
        self.cache.touch(LOCK_KEY, timeout=LOCK_SECONDS)

    def release(self) -> None:
        # Only our own lock: after a long stall another sender may hold it now.
        if self.cache.get(LOCK_KEY) == self.token:
            self.cache.delete(LOCK_KEY)


def deliveries_send(*, stop_after_seconds: float | None = None) -> Report:
    """Send every due delivery, then return; a no-op while another sender runs."""
    if not settings.TELEGRAM_BOT_TOKEN:
        return Report(skipped="the bot is off: TELEGRAM_BOT_TOKEN is not set")
    lock = SenderLock()
    if not lock.acquire():
        return Report(skipped="another sender is running")
    started = time.monotonic()
    try:
        report = Report(interrupted=services.deliveries_recover())
        # async_to_sync, not asyncio.run: the database calls inside come back to this thread
        # and its connection (and, in tests, its transaction).
        async_to_sync(Sender(lock, report, stop_after_seconds).run)()
    finally:
        lock.release()
    report.seconds = time.monotonic() - started
    return report


def bot_for_broadcasts() -> Bot:
    """A Bot API client without the conversation bot's wait-and-retry on 429: the sender
    itself pauses for Telegram's retry_after and keeps the message queued."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))
    return Bot(token=settings.TELEGRAM_BOT_TOKEN, session=session)


class Sender:
    def __init__(self, lock: SenderLock, report: Report, stop_after_seconds: float | None) -> None:
        self.lock = lock
        self.report = report
        # Whole messages a tick, the remainder carried over: 25 a second is 2, 3, 2, 3, … a tick
        # (rounding 2.5 down sent 20), and 1 a second is one message every tenth tick, not ten.
        self.rate = settings.TELEGRAM_BROADCAST_RATE
        self.ticks_per_second = round(1 / TICK_SECONDS)
        self.carry = 0
        self.deadline = None if stop_after_seconds is None else time.monotonic() + stop_after_seconds
        self.paused_until = 0.0
        self.last_sent: dict[int, float] = {}
        self.in_flight: set[asyncio.Task] = set()

    async def run(self) -> None:
        bot = bot_for_broadcasts()
        try:
            await self._loop(bot)
        finally:
            if self.in_flight:
                await asyncio.gather(*self.in_flight)
            await bot.session.close()

    async def _loop(self, bot: Bot) -> None:
        tick = time.monotonic()
        while self.deadline is None or time.monotonic() < self.deadline:
            # Ticks are kept on a fixed grid, so slow answers do not slow the pace. A sender that
            # fell behind (a stall, an idle second) goes on from now instead of catching up in a
            # burst of ticks: Telegram counts messages per second.
            tick = max(tick + TICK_SECONDS, time.monotonic(), self.paused_until)
            await self._wait_until(tick)
            limit, self.carry = divmod(self.carry + self.rate, self.ticks_per_second)
            if not limit:
                continue
            batch = await sync_to_async(services.deliveries_claim)(channel=CHANNEL, limit=limit)
            if batch:
                task = asyncio.create_task(self._send_tick(bot, batch))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                continue
            if not self.in_flight and not await sync_to_async(services.deliveries_waiting)(channel=CHANNEL):
                return
            await self._wait_until(time.monotonic() + IDLE_POLL_SECONDS)

    async def _wait_until(self, moment: float) -> None:
        """Sleep until `moment`, keeping the sender lock: a 429 pause or an idle wait can be
        longer than the lock lives, and a lapsed lock would let a second sender start."""
        while True:
            await sync_to_async(self.lock.renew)()
            left = moment - time.monotonic()
            if left <= 0:
                return
            await asyncio.sleep(min(left, LOCK_SECONDS / 3))

    async def _send_tick(self, bot: Bot, batch: list[Delivery]) -> None:
        outcomes = Outcomes()
        await asyncio.gather(*(self._send_one(bot, delivery, outcomes) for delivery in batch))
        await sync_to_async(services.deliveries_record)(
            sent=outcomes.sent, blocked=outcomes.blocked, failed=outcomes.failed, retry=outcomes.retry
        )
        self.report.sent += len(outcomes.sent)
        self.report.blocked += len(outcomes.blocked)
        self.report.failed += len(outcomes.failed)
        self.report.retried += len(outcomes.retry)

    async def _send_one(self, bot: Bot, delivery: Delivery, outcomes: Outcomes) -> None:
        now = time.monotonic()
        chat_id = int(delivery.recipient_key)  # Telegram's chat id; the key is the channel-neutral string
        last = self.last_sent.get(chat_id)
        if last is not None and now - last < CHAT_INTERVAL_SECONDS:
            # Two messages for one chat in the same second: the second waits its turn.
            outcomes.retry[delivery.pk] = (_after(CHAT_INTERVAL_SECONDS), "one message a second per chat")
            return
        self.last_sent[chat_id] = now
        try:
            await bot.send_message(chat_id, delivery.text, link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramRetryAfter as error:
            self.paused_until = max(self.paused_until, time.monotonic() + error.retry_after)
            outcomes.retry[delivery.pk] = (_after(error.retry_after), f"429: retry after {error.retry_after} s")
        except TelegramForbiddenError:
            outcomes.blocked.append(delivery.pk)
        except TelegramBadRequest as error:
            outcomes.failed[delivery.pk] = f"400: {error.message}"
        except (TelegramServerError, TelegramNetworkError, aiohttp.ClientError, TimeoutError) as error:
            self._transient(delivery, outcomes, str(error) or type(error).__name__)
        except TelegramAPIError as error:
            outcomes.failed[delivery.pk] = str(error)
        else:
            outcomes.sent.append(delivery.pk)

    def _transient(self, delivery: Delivery, outcomes: Outcomes, error: str) -> None:
        if delivery.attempts >= settings.TELEGRAM_BROADCAST_ATTEMPTS:
            outcomes.failed[delivery.pk] = f"gave up after {delivery.attempts} attempts: {error}"
            return
        backoff = min(MAX_BACKOFF_SECONDS, 2**delivery.attempts)
        outcomes.retry[delivery.pk] = (_after(backoff), error)


def _after(seconds: float) -> dt.datetime:
    return timezone.now() + dt.timedelta(seconds=seconds)
