"""The Telegram transport of the one sender (botbridge.sending): Bot API calls and what
Telegram's answers mean.

429 pauses the whole sender for `retry_after` (the limit is the bot's, not the chat's); 403
means the user blocked the bot; other 4xx fail the message; network trouble and 5xx are
transient.
"""

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
from django.conf import settings

from botbridge.channels.telegram.handlers import CHANNEL
from botbridge.outbound import Blocked, Failed, Outcome, RetryAfter, Sent, Transient

CHAT_INTERVAL_SECONDS = 1.0  # Telegram: no more than one message a second to one chat


def bot_for_broadcasts() -> Bot:
    """A Bot API client without the conversation bot's wait-and-retry on 429: the sender
    itself pauses for Telegram's retry_after and keeps the message queued."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.TELEGRAM_API_BASE))
    return Bot(token=settings.TELEGRAM_BOT_TOKEN, session=session)


class TelegramTransport:
    channel = CHANNEL
    per_recipient_interval = CHAT_INTERVAL_SECONDS

    def __init__(self) -> None:
        self.rate = settings.TELEGRAM_BROADCAST_RATE
        self.attempts = settings.BROADCAST_ATTEMPTS
        self.bot = bot_for_broadcasts()

    async def send(self, recipient_key: str, text: str, *, kind: str) -> Outcome:
        chat_id = int(recipient_key)  # in a private chat, the chat id is the user's id
        try:
            await self.bot.send_message(chat_id, text, link_preview_options=LinkPreviewOptions(is_disabled=True))
        except TelegramRetryAfter as error:
            return RetryAfter(error.retry_after)
        except TelegramForbiddenError:
            return Blocked()
        except TelegramBadRequest as error:
            return Failed(f"400: {error.message}")
        except (TelegramServerError, TelegramNetworkError, aiohttp.ClientError, TimeoutError) as error:
            return Transient(str(error) or type(error).__name__)
        except TelegramAPIError as error:
            return Failed(str(error))
        return Sent()

    async def close(self) -> None:
        await self.bot.session.close()
