"""The one dispatcher both transports feed, and the client that talks to the Bot API."""

import asyncio
import logging
from functools import lru_cache
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.filters import ExceptionTypeFilter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import BotCommand, ErrorEvent
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connections
from django.utils import translation

from botbridge import texts
from botbridge.channels.telegram.handlers import router
from botbridge.channels.telegram.middlewares import Resident, UpdateOnce

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


def bot_create() -> Bot:
    """A client for the configured Bot API server; its HTTP session belongs to the current event loop."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))
    session.middleware(HonourRetryAfter())
    return Bot(token=settings.TELEGRAM_BOT_TOKEN, session=session)


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
    dp.update.outer_middleware(UpdateOnce())
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
