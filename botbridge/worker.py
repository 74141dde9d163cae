"""The workers: they take the events the webhooks stored (botbridge.models.InboundEvent), run the
conversation and send the replies.

A worker leases a few events at a time (services.events_lease), each the oldest waiting event of
a chat with nothing earlier waiting, so a chat's events are handled one at a time and in order
however many workers run. The event's adapter handles it as the webhook used to: its claim
(services.event_claim), the resident and the conversation's writes commit in one transaction,
which also marks the event done; the replies are sent after the commit.

A worker that dies:
- before that commit: nothing of the event is saved; its lease runs out
  (BOT_EVENT_LEASE_SECONDS) and another worker handles it, replies and all;
- after it, before or while sending: the event is done and is never handled again, so a reply
  not sent yet is never sent (at most once, as every message the bot sends; the resident
  sees no answer and asks again, never the same answer twice).

Nothing is kept in the worker's memory between events: it can be killed at any point.
"""

import asyncio
import logging
import time
from collections.abc import Callable

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import close_old_connections

from botbridge.services import Leased, event_done, event_retry, events_lease, events_release

logger = logging.getLogger(__name__)

# An event whose handling failed this many times is given up (logged): the chat's later events
# wait behind it, and they must not wait forever for one the database or platform never takes.
MAX_ATTEMPTS = 5
IDLE_SECONDS = 0.05  # how often an idle worker looks for work
# Events leased in one statement. A few: a deep queue costs a lease per few events, and a worker
# killed with a lease in hand delays at most this many chats until the lease runs out.
LEASE_BATCH = 4


async def event_handle(leased: Leased) -> None:
    """The event through its channel's adapter."""
    if leased.channel == "telegram":
        from botbridge.channels.telegram.dispatcher import update_handle

        await update_handle(leased.payload)
    elif leased.channel == "viber":
        from botbridge.channels.viber.handlers import stored_handle

        await sync_to_async(stored_handle)(leased.payload)
    elif leased.channel == "messenger":
        from botbridge.channels.messenger.handlers import stored_handle

        await sync_to_async(stored_handle)(leased.payload)
    else:
        logger.error("event %s: no adapter for channel %r; dropped", leased.id, leased.channel)


async def event_work(leased: Leased, *, retry_after: float | None = None) -> bool:
    """Handle a leased event; False when it failed and waits to be tried again."""
    try:
        await event_handle(leased)
    except Exception:
        if leased.attempts >= MAX_ATTEMPTS:
            logger.exception("event %s:%s failed %s times; given up", leased.channel, leased.key, leased.attempts)
            await sync_to_async(event_done)(event_id=leased.id)
            return True
        wait = min(2**leased.attempts, 60) if retry_after is None else retry_after
        logger.exception("event %s:%s failed; tried again in %ss", leased.channel, leased.key, wait)
        await sync_to_async(event_retry)(event_id=leased.id, after_seconds=wait)
        return False
    await sync_to_async(event_done)(event_id=leased.id)
    return True


async def events_drain(
    *, channel: str = "", chat_key: str = "", stop: Callable[[], bool] = lambda: False, retry_after: float | None = None
) -> tuple[int, int]:
    """Handle events until none is left to lease (or `stop` says so): (handled, failed).

    A worker leases up to LEASE_BATCH events at once (of different chats: services.events_lease)
    and handles them one after another, each marked done after its replies. The ones it does not
    start on are released at once: when it is told to stop, and when half the lease has gone by
    (events slower than expected: the rest would be taken by another worker as from a dead one).
    """
    handled = failed = 0
    seconds = settings.BOT_EVENT_LEASE_SECONDS
    batch = 1 if chat_key else LEASE_BATCH  # a chat's own events come one at a time anyway
    while not stop():
        leased = await sync_to_async(events_lease)(seconds=seconds, limit=batch, channel=channel, chat_key=chat_key)
        if not leased:
            break
        fresh_until = time.monotonic() + seconds / 2
        for index, event in enumerate(leased):
            if index and (stop() or time.monotonic() > fresh_until):
                await sync_to_async(events_release)(leased=leased[index:])
                break
            if await event_work(event, retry_after=retry_after):
                handled += 1
            else:
                failed += 1
                if chat_key:
                    return handled, failed  # the chat's later events wait for this one: the next try is the platform's
    return handled, failed


def events_work_inline(*, channel: str, chat_keys: list[str]) -> bool:
    """The webhook's own work when no worker runs (BOT_EVENTS_INLINE): the chats' waiting events,
    now, in this request. False when one failed: the webhook then asks the platform to deliver
    again, and the re-delivery (stored already) brings the retry, as before workers existed."""
    return events_work(channel=channel, chat_keys=chat_keys, retry_after=0)[1] == 0


def events_work(
    *, channel: str = "", chat_keys: list[str] | None = None, retry_after: float | None = None
) -> tuple[int, int]:
    """Drain what is waiting (of the given chats only, if named), from synchronous code, in an
    event loop of its own: (handled, failed)."""

    async def work() -> tuple[int, int]:
        handled = failed = 0
        try:
            for chat_key in dict.fromkeys(chat_keys) if chat_keys is not None else [""]:
                done, not_done = await events_drain(channel=channel, chat_key=chat_key, retry_after=retry_after)
                handled, failed = handled + done, failed + not_done
        finally:
            if settings.TELEGRAM_BOT_TOKEN:
                from botbridge.channels.telegram.dispatcher import loop_session_close

                await loop_session_close()  # the loop ends with this call
        return handled, failed

    return async_to_sync(work)()


def run(*, stop: Callable[[], bool]) -> None:
    """One worker process's loop, until `stop` says so (after the event in hand)."""
    asyncio.run(_run(stop))
    # (asyncio.run closes the loop; the Telegram client's session of it is closed in _run.)


async def _run(stop: Callable[[], bool]) -> None:
    try:
        await _loop(stop)
    finally:
        if settings.TELEGRAM_BOT_TOKEN:
            from botbridge.channels.telegram.dispatcher import loop_session_close

            await loop_session_close()


async def _loop(stop: Callable[[], bool]) -> None:
    while not stop():
        # The worker's connection lives long: drop it when it broke or grew old, as requests do.
        await sync_to_async(close_old_connections)()
        try:
            handled, _failed = await events_drain(stop=stop)
        except Exception:
            # The database is down, say: the leases run out, and the events wait for it.
            logger.exception("worker: could not take events; trying again")
            handled = 0
            await asyncio.sleep(1)
        if not handled:
            await asyncio.sleep(IDLE_SECONDS)
