"""The one sender with a second channel's transport: a fake Viber in this process plugs into
botbridge.sending as Telegram's transport does, with no second copy of the sender."""

import time
from collections import Counter

import pytest
from django.core.cache import caches

from accounts.identities import channel_identity_resolve
from accounts.models import ChannelIdentity
from botbridge import outbound, sending, services, tasks
from botbridge.models import Delivery
from botbridge.outbound import Blocked, RetryAfter, Sent, TransportSpec

pytestmark = pytest.mark.django_db

RATE = 10


class FakeViber:
    """Records every send; answers what the test scripted for a recipient, else sent."""

    calls: list[tuple[str, str, float]] = []
    answers: dict[str, list] = {}

    channel = "viber"
    rate = RATE
    per_recipient_interval = 1.0
    attempts = 3

    async def send(self, recipient_key: str, text: str, *, kind: str):
        FakeViber.calls.append((recipient_key, text, time.monotonic()))
        scripted = FakeViber.answers.get(recipient_key)
        return scripted.pop(0) if scripted else Sent()

    async def close(self) -> None:
        pass


@pytest.fixture
def viber(bot_settings, monkeypatch):
    monkeypatch.setitem(outbound.TRANSPORTS, "viber", TransportSpec("VIBER_AUTH_TOKEN", f"{__name__}.FakeViber"))
    bot_settings.VIBER_AUTH_TOKEN = "viber-token"
    FakeViber.calls, FakeViber.answers = [], {}
    for channel in ("telegram", "viber"):
        caches["locks"].delete(sending.lock_key(channel))
    return FakeViber


def people(channel: str, keys) -> None:
    for key in keys:
        channel_identity_resolve(channel=channel, external_id=str(key), display_name="Марія", language_code="uk")


@pytest.mark.slow
def test_a_second_channel_is_sent_by_the_same_sender_at_its_own_rate(viber, fake_bot_api):
    viber_keys = [f"v{n:02}" for n in range(20)]
    people("viber", viber_keys)
    people("telegram", [11_000, 11_001])
    for chat_id in (11_000, 11_001):
        fake_bot_api.add_chat(chat_id)
    viber.answers = {"v03": [Blocked()], "v05": [RetryAfter(1)]}
    announcement = services.broadcast_announce(text="Планові роботи 05.12", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert Counter(announcement.deliveries.values_list("channel", flat=True)) == {"viber": 20, "telegram": 2}
    # A Telegram delivery its dead sender left `sending` is not Viber's to mark interrupted.
    Delivery.objects.filter(recipient_key="11001").update(status=Delivery.Status.SENDING)

    # Telegram's sender holds its lock: Viber's does not wait for it.
    telegram_sender = sending.SenderLock("telegram")
    assert telegram_sender.acquire()
    report = sending.deliveries_send(channel="viber")
    telegram_sender.release()

    assert (report.sent, report.blocked, report.interrupted) == (19, 1, 0)
    assert report.retried >= 1
    assert fake_bot_api.sent_messages() == []
    sends = Counter(key for key, _, _ in viber.calls)
    assert sends == Counter({**dict.fromkeys(viber_keys, 1), "v05": 2})  # the retry-after one again, no other twice
    assert ChannelIdentity.objects.get(channel="viber", external_id="v03").blocked_at is not None
    assert Delivery.objects.get(recipient_key="v03").status == Delivery.Status.BLOCKED
    # Its own rate: 10 a second, so no second holds more than 10 (and one tick of slack).
    times = sorted(at for _, _, at in viber.calls)
    assert max(sum(1 for t in times if start <= t < start + 1) for start in times) <= RATE + 1
    # The retry-after paused the whole sender for its second.
    (paused_at,) = [at for key, _, at in viber.calls if key == "v05"][:1]
    later = [at for _, _, at in viber.calls if at > paused_at + 0.05]
    assert later and min(later) >= paused_at + 0.95

    assert sending.deliveries_send(channel="viber").sent == 0  # run again: nothing goes twice
    assert len(viber.calls) == 21
    telegram = sending.deliveries_send(channel="telegram")
    assert (telegram.sent, telegram.interrupted) == (1, 1)
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [11_000]


def test_each_channel_with_queued_deliveries_gets_its_sender(viber, fake_bot_api, eager_celery, monkeypatch):
    people("viber", ["v1"])
    started = []
    monkeypatch.setattr(tasks.deliveries_send, "delay", started.append)
    announcement = services.broadcast_announce(text="Оголошення", created_by=None)
    services.broadcast_fill(broadcast_id=announcement.pk)
    assert outbound.sent_channels() == ("telegram", "viber", "messenger", "email")
    assert tasks.outbox_tick() == {"broadcasts": 0, "send": 1}
    assert started == ["viber"]
