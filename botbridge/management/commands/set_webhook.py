"""python manage.py set_webhook URL"""

import asyncio

from aiogram.exceptions import TelegramAPIError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from botbridge.channels.telegram.dispatcher import ALLOWED_UPDATES, bot_create, commands_register


class Command(BaseCommand):
    help = "Register URL (https://…/telegram/webhook/) as the bot's webhook, with the secret token."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("url")

    def handle(self, *args, url: str, **options) -> None:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set.")
        if not settings.TELEGRAM_WEBHOOK_SECRET:
            raise CommandError("TELEGRAM_WEBHOOK_SECRET is not set: the webhook refuses updates without it.")
        try:
            asyncio.run(self._set(url))
        except TelegramAPIError as error:  # a refusal, or Telegram out of reach (TelegramNetworkError)
            raise CommandError(
                f"Telegram did not set the webhook {url}: {error}. The URL must be HTTPS on port 443, 80, 88 or "
                "8443, and this machine must reach TELEGRAM_API_BASE."
            ) from None
        self.stdout.write(self.style.SUCCESS(f"Webhook set: {url}"))

    async def _set(self, url: str) -> None:
        bot = bot_create()
        try:
            await bot.set_webhook(url, secret_token=settings.TELEGRAM_WEBHOOK_SECRET, allowed_updates=ALLOWED_UPDATES)
            await commands_register(bot)
        finally:
            await bot.session.close()
