from django.apps import AppConfig


class BotbridgeConfig(AppConfig):
    """The Telegram bot. Empty until the bot issue builds it on the foundation's services."""

    name = "botbridge"
    verbose_name = "Telegram"
