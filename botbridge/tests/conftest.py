import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command

from accounts.tests.factories import MeterFactory
from botbridge.tests.bad_input import ACCOUNT, ADDRESS, SERIAL
from botbridge.tests.chat import Conversation, webhook_deliver


@pytest.fixture
def webhook_resident(db, client, bot_settings, fake_bot_api) -> Conversation:
    """Resident 111 (Марія, Ukrainian Telegram) writing to the bot through the webhook."""
    return Conversation(fake_bot_api, webhook_deliver(client))


@pytest.fixture
def corpus_home(db, settings):
    """The home the bad-input corpus is sent about, in every channel's corpus test.

    Mismatched serials count as failed linking attempts; the limit is tested elsewhere and
    would end the serial step after five of the corpus's serial-shaped messages."""
    settings.LINK_ATTEMPTS_MAX = 1000
    settings.LINK_ATTEMPTS_PER_ACCOUNT = 1000
    return MeterFactory(account__number=ACCOUNT, account__address=ADDRESS, serial=SERIAL, initial_values=[1000])


@pytest.fixture
def fake_graph() -> Iterator:
    """A fake Graph API (Messenger) on 127.0.0.1 for this test only."""
    from botbridge.tests.fake_graph import FakeGraphAPI

    with FakeGraphAPI() as fake:
        yield fake


@pytest.fixture
def messenger_settings(settings, fake_graph):
    """The Messenger bot on, talking to the fake Graph API."""
    from botbridge.tests import fake_graph as graph

    settings.MESSENGER_PAGE_ACCESS_TOKEN = fake_graph.token
    settings.MESSENGER_APP_SECRET = graph.APP_SECRET
    settings.MESSENGER_VERIFY_TOKEN = graph.VERIFY_TOKEN
    settings.MESSENGER_API_BASE = fake_graph.base_url
    settings.MESSENGER_REMINDER_TEMPLATE = ""
    return settings


@pytest.fixture
def fake_viber():
    """A fake Viber REST Bot API on 127.0.0.1 for this test only."""
    from botbridge.tests.fake_viber import FakeViber

    with FakeViber() as fake:
        yield fake


@pytest.fixture
def viber_settings(settings, fake_viber):
    """The Viber bot on, talking to the fake Viber."""
    settings.VIBER_AUTH_TOKEN = fake_viber.token
    settings.VIBER_API_BASE = fake_viber.base_url
    return settings


@pytest.fixture
def viber_resident(db, client, viber_settings, fake_viber):
    """Resident K917… (Марія, Ukrainian Viber) writing to the bot through the webhook."""
    from botbridge.tests.viber_chat import ViberChat

    return ViberChat(fake_viber, client)


@pytest.fixture(scope="session")
def phone_sounds(tmp_path_factory) -> Path | None:
    """Asterisk's sounds directory with every prompt rendered by ivr_prompts, once a session;
    None without espeak-ng and sox (scripts/setup-voice installs them)."""
    if not (shutil.which("espeak-ng") and shutil.which("sox")):
        return None
    sounds = tmp_path_factory.mktemp("sounds")
    call_command("ivr_prompts", out=str(sounds), stdout=io.StringIO())
    return sounds


@pytest.fixture
def asterisk(transactional_db, phone_sounds) -> Iterator:
    """A fake Asterisk dialling in to a FastAGI server run in this process (time_machine and the
    settings fixture reach its call threads). Committed data: each call runs in a thread of its own.
    With the prompts rendered, a prompt the menu asks for that ivr_prompts did not make ends the
    call as Asterisk would (-1) and is listed in the transcript."""
    from botbridge.tests.fake_asterisk import FakeAsterisk, agi_server

    with agi_server(idle_timeout=5, stop_grace=2) as server:
        fake = FakeAsterisk(*server.address, sounds=phone_sounds, timeout=5)
        fake.server = server  # for settle(): every call's thread has ended
        yield fake
