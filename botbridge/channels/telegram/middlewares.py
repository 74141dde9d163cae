"""What every update goes through before a handler: once only, the resident, the language."""

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.exceptions import TelegramAPIError
from aiogram.types import TelegramObject, Update
from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.utils import translation

from accounts.identities import channel_identity_resolve
from botbridge import texts
from botbridge.channels.telegram.handlers import CHANNEL
from botbridge.services import event_claim, event_unclaim, telegram_update_key

logger = logging.getLogger(__name__)
Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class UpdateOnce(BaseMiddleware):
    """Drops a re-delivered update: the claim is a database row, so it holds across processes."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        if data.get("recycle_connections"):
            # A polling process has no requests, whose start and end recycle stale
            # database connections in the web server: do it per update instead.
            await sync_to_async(close_old_connections)()
        key = telegram_update_key(bot_id=data["bot"].id, update_id=event.update_id)
        if not await sync_to_async(event_claim)(channel=CHANNEL, key=key):
            logger.info("update %s already processed; dropped", event.update_id)
            return None
        try:
            return await handler(event, data)
        except TelegramAPIError:
            raise  # only a reply failed: what the resident sent is saved, a retry would save it twice
        except Exception:
            # The work was not done (the database refused, say): let Telegram's retry do it.
            await sync_to_async(event_unclaim)(channel=CHANNEL, key=key)
            raise


class Resident(BaseMiddleware):
    """The portal user behind the Telegram user, and replies in their language."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        sender = data.get("event_from_user")
        chat = data.get("event_chat")
        if (sender is None or sender.is_bot) and (chat is None or chat.type == "private"):
            # A message sent on behalf of a chat has no `from`; in a private chat no resident
            # sent it (nor does a bot, which Telegram never lets write to a bot) and the
            # conversation needs one. Taken, so Telegram does not resend it.
            logger.info("update %s has no sender; dropped", getattr(event, "update_id", "?"))
            return None
        if sender is None or (chat is not None and chat.type != "private"):
            # Not a resident in a private chat: no portal user, answered in Ukrainian.
            data["language"] = "uk"
            with translation.override("uk"):
                return await handler(event, data)
        data["user"] = await sync_to_async(channel_identity_resolve)(
            channel=CHANNEL,
            external_id=str(sender.id),
            display_name=sender.first_name or "",
            username=sender.username or "",
            language_code=sender.language_code or "",
        )
        data["language"] = texts.language_of(sender.language_code)
        with translation.override(data["language"]):
            return await handler(event, data)
