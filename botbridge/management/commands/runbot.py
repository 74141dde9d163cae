"""python manage.py runbot: the bot by long polling (no public address needed)."""

import asyncio

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from botbridge.channels.telegram.dispatcher import bot_create, poll


class Command(BaseCommand):
    help = "Run the Telegram bot with long polling."

    def handle(self, *args, **options) -> None:
        if not settings.TELEGRAM_BOT_TOKEN:
            raise CommandError("TELEGRAM_BOT_TOKEN is not set: get a token from @BotFather and set it.")
        asyncio.run(self._run())

    async def _run(self) -> None:
        bot = bot_create()
        try:
            me = await bot.get_me()
            self.stdout.write(f"Polling as @{me.username} via {settings.TELEGRAM_API_BASE}")
            await poll(bot, handle_signals=True)
        finally:
            await bot.session.close()
