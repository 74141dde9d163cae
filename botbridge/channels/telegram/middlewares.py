"""What every update goes through before a handler: fresh connections, the language.

Once only is the handler's claim (botbridge.channels.inbound), in the transaction of what the
event changes."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import translation

from botbridge import texts
from botbridge.channels.telegram.handlers import CHANNEL
from botbridge.services import event_claim, telegram_update_key

logger = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class FreshConnections(BaseMiddleware):
    """A polling process has no requests, whose start and end recycle stale database
    connections in the web server: it does so per update instead."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        if data.get("recycle_connections"):
            await sync_to_async(close_old_connections)()
        return await handler(event, data)


class Resident(BaseMiddleware):
    """Updates no resident sent are dropped; replies in the resident's language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = data.get("event_from_user")
        chat = data.get("event_chat")
        if (sender is None or sender.is_bot) and (chat is None or chat.type == "private"):
            # A message sent on behalf of a chat has no `from`; in a private chat no resident
            # sent it (nor does a bot, which Telegram never lets write to a bot) and the
            # conversation needs one. Taken, so Telegram does not resend it.
            logger.info("update %s has no sender; dropped", getattr(event, "update_id", "?"))
            key = telegram_update_key(bot_id=data["bot"].id, update_id=event.update_id)
            await sync_to_async(event_claim)(channel=CHANNEL, key=key)
            return None
        if sender is None or (chat is not None and chat.type != "private"):
            # Not a resident in a private chat: no portal user, answered in Ukrainian.
            data["language"] = "uk"
            with translation.override("uk"):
                return await handler(event, data)
        # The portal user is found in the handler, in the transaction of the conversation.
        data["language"] = texts.language_of(sender.language_code)
        with translation.override(data["language"]):
            return await handler(event, data)
