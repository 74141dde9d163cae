"""Any process can take any update: two uvicorn workers share one conversation, and a restart loses nothing."""

import json
import os
import urllib.error
import urllib.request

import pytest

from accounts.models import AccountLink
from accounts.tests.factories import MeterFactory
from botbridge.tests.chat import SECRET, Conversation, texts
from portal.tests.servers import PortalServer, database_url
from readings.models import Reading


class Worker(PortalServer):
    """The portal under uvicorn in a process of its own, on the test database."""

    def post(self, update: dict) -> None:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/telegram/webhook/",
            data=json.dumps(update).encode(),
            headers={"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": SECRET},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200


@pytest.fixture
def worker_env(on_postgres, fake_bot_api) -> dict[str, str]:
    return {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TELEGRAM_"))},
        "DATABASE_URL": database_url(on_postgres),
        "DJANGO_DEBUG": "1",
        "TELEGRAM_BOT_TOKEN": fake_bot_api.token,
        "TELEGRAM_API_BASE": fake_bot_api.base_url,
        "TELEGRAM_WEBHOOK_SECRET": SECRET,
    }


@pytest.mark.django_db(transaction=True)
def test_two_workers_take_alternate_updates_and_a_restart_loses_nothing(worker_env, fake_bot_api):
    MeterFactory(account__number="123456789", account__address="вул. Соборна, 12", serial="AB123")
    workers = [Worker(worker_env), Worker(worker_env)]
    turn = iter(range(1_000))

    def deliver(update: dict) -> None:
        workers[next(turn) % 2].post(update)

    resident = Conversation(fake_bot_api, deliver)
    try:
        resident.say("/start")
        resident.say("Додати особовий рахунок")
        assert "на самому лічильнику" in texts(resident.say("123456789"))
        for worker in workers:  # both restart in the middle of the conversation
            worker.stop()
        workers[:] = [Worker(worker_env), Worker(worker_env)]
        assert "123456789 додано" in texts(resident.say("AB123"))
        resident.say("Мої особові рахунки")
        resident.press("123456789")
        assert "1250" in texts(resident.say("1250"))
    finally:
        for worker in workers:
            worker.stop()
    assert AccountLink.objects.count() == 1
    assert Reading.objects.get().values == (1250,)
    assert [call for call in fake_bot_api.calls if call.status != 200] == []
