from collections.abc import Iterator

import pytest

from botbridge.tests.chat import SECRET, Conversation, webhook_deliver
from botbridge.tests.fake_bot_api import FakeBotAPI

# --- Fake Telegram Bot API ------------------------------------------------------------------


@pytest.fixture
def fake_bot_api() -> Iterator[FakeBotAPI]:
    """A fake Bot API server on 127.0.0.1 for this test only; point TELEGRAM_API_BASE at its base_url."""
    with FakeBotAPI() as fake:
        yield fake


# --- The bot pointed at the fake ------------------------------------------------------------


@pytest.fixture
def bot_settings(settings, fake_bot_api):
    """The bot on, talking to the fake Bot API, with a webhook secret."""
    settings.TELEGRAM_BOT_TOKEN = fake_bot_api.token
    settings.TELEGRAM_API_BASE = fake_bot_api.base_url
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    return settings


@pytest.fixture
def webhook_resident(db, client, bot_settings, fake_bot_api) -> Conversation:
    """Resident 111 (Марія, Ukrainian Telegram) writing to the bot through the webhook."""
    return Conversation(fake_bot_api, webhook_deliver(client))
