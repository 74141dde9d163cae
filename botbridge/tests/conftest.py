import pytest

from botbridge.tests.chat import Conversation, webhook_deliver


@pytest.fixture
def webhook_resident(db, client, bot_settings, fake_bot_api) -> Conversation:
    """Resident 111 (Марія, Ukrainian Telegram) writing to the bot through the webhook."""
    return Conversation(fake_bot_api, webhook_deliver(client))
