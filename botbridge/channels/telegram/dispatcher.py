"""The one dispatcher both transports feed, and the client that talks to the Bot API."""

import asyncio
import json
import logging
import os
import threading
import weakref
from functools import lru_cache
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession, ClientSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.filters import ExceptionTypeFilter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import BotCommand, ErrorEvent, Update
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.utils import translation

from botbridge import texts
from botbridge.channels.telegram.handlers import router
from botbridge.channels.telegram.middlewares import FreshConnections, Resident

logger = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "edited_message", "callback_query", "my_chat_member", "channel_post"]


class HonourRetryAfter(BaseRequestMiddleware):
    """On a 429 the Bot API says how long to wait: wait that long and try once more,
    unless it is longer than we can hold the update (then the failure is logged)."""

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType]
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramRetryAfter as error:
            if error.retry_after > settings.TELEGRAM_RETRY_MAX_SECONDS:
                raise
            logger.warning("Bot API asks to wait %ss before %s; waiting", error.retry_after, method.__api_method__)
            await asyncio.sleep(error.retry_after)
            return await make_request(bot, method)


class LoopSession(AiohttpSession):
    """aiogram's HTTP session, safe for one client shared by every thread and event loop.

    An aiohttp session belongs to the event loop that made it, and a process has several
    loops (a worker's one; under WSGI, one per request that works inline): this keeps one
    aiohttp session per loop. What is costly to build (the TLS context, ~17 ms) is the
    client's, made once.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._lock = threading.Lock()
        self._per_loop: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

    async def create_session(self) -> ClientSession:
        loop = asyncio.get_running_loop()
        with self._lock:
            session = self._per_loop.get(loop)
            if session is None or session.closed:
                session = ClientSession(connector=self._connector_type(**self._connector_init))
                self._per_loop[loop] = session
            return session

    async def close(self) -> None:
        """Close this loop's aiohttp session; not aiogram's 250 ms wait for TLS shutdown."""
        with self._lock:
            session = self._per_loop.pop(asyncio.get_running_loop(), None)
        if session is not None and not session.closed:
            await session.close()


def bot_create() -> Bot:
    """A client for the configured Bot API server."""
    session = LoopSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))
    session.middleware(HonourRetryAfter())
    return Bot(token=settings.TELEGRAM_BOT_TOKEN, session=session)


_bots: dict[tuple, Bot] = {}
_bots_lock = threading.Lock()


def bot_shared() -> Bot:
    """The process's one client for the configured bot, whatever thread or loop asks for it
    (a forked worker makes its own: an inherited one would share its parent's sockets)."""
    key = (os.getpid(), settings.TELEGRAM_BOT_TOKEN, settings.TELEGRAM_API_BASE)
    with _bots_lock:
        if key not in _bots:
            _bots[key] = bot_create()
        return _bots[key]


async def loop_session_close() -> None:
    """Close the shared client's session of the current loop, before the loop ends."""
    await bot_shared().session.close()


async def update_handle(payload: str) -> None:
    """A stored update (the webhook's JSON, checked and mended) through the dispatcher."""
    update = Update.model_validate(json.loads(payload))
    await dispatcher().feed_update(bot_shared(), update)


async def reply_failed(event: ErrorEvent) -> bool:
    """A failed reply must not fail the update: the services have committed what the resident
    sent. Any other error is left unhandled, so the webhook answers 500 and Telegram retries."""
    logger.warning("update %s: Bot API refused a reply: %s", event.update.update_id, event.exception)
    return True


@lru_cache(maxsize=1)
def dispatcher() -> Dispatcher:
    """Built once per process; it holds no state of its own (the engine keeps it in the database).

    aiogram's FSM is not used: its default in-memory storage stays empty, as the conversation's
    steps are the engine's.
    """
    dp = Dispatcher(disable_fsm=True)
    dp.update.outer_middleware(FreshConnections())
    dp.update.outer_middleware(Resident())
    dp.errors.register(reply_failed, ExceptionTypeFilter(TelegramAPIError))
    dp.include_router(router)
    return dp


def bot_commands(language: str) -> list[BotCommand]:
    with translation.override(language):
        return [BotCommand(command=name, description=str(text)) for name, text in texts.COMMANDS.items()]


async def commands_register(bot: Bot) -> None:
    """The command menu in Ukrainian for everyone, in English for English-speaking users."""
    await bot.set_my_commands(bot_commands("uk"))
    await bot.set_my_commands(bot_commands("en"), language_code="en")


async def feed(bot: Bot, update: Any) -> None:
    await dispatcher().feed_update(bot, update)


async def poll(bot: Bot, **polling: Any) -> None:
    """Long polling with the same dispatcher the webhook feeds."""
    # Polling and a webhook exclude each other on Telegram's side.
    await bot.delete_webhook(drop_pending_updates=False)
    await commands_register(bot)
    try:
        await dispatcher().start_polling(bot, allowed_updates=ALLOWED_UPDATES, recycle_connections=True, **polling)
    finally:
        await sync_to_async(connections.close_all)()
