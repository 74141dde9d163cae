"""python manage.py delete_webhook"""

import asyncio

from aiogram.exceptions import TelegramAPIError
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from botbridge.channels.telegram.dispatcher import bot_create


class Command(BaseCommand):
    help = "Remove the bot's webhook (for example before switching to runbot)."

    def handle(self, *args, **options) -> None:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set.")
        try:
            asyncio.run(self._delete())
        except TelegramAPIError as error:  # a refusal, or Telegram out of reach (TelegramNetworkError)
            raise CommandError(f"Telegram did not remove the webhook: {error}.") from None
        self.stdout.write(self.style.SUCCESS("Webhook removed."))

    async def _delete(self) -> None:
        bot = bot_create()
        try:
            await bot.delete_webhook()
        finally:
            await bot.session.close()
