"""Reminders and review notices to Viber users: the one sender with Viber's transport, against
the fake Viber, and what each of Viber's answers means for a message."""

import asyncio
import datetime as dt

import pytest
import time_machine
from django.core.cache import caches

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge import sending, services
from botbridge.channels.viber.outbound import ViberTransport
from botbridge.models import Broadcast, Delivery
from botbridge.outbound import Blocked, Failed, RetryAfter, Sent, Transient
from botbridge.tests.viber_chat import USER_ID, ViberChat
from readings.models import Reading
from readings.services import reading_approve

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender(viber_settings, fake_bot_api, bot_settings):
    viber_settings.VIBER_BROADCAST_RATE = 200
    viber_settings.TELEGRAM_BROADCAST_RATE = 200
    for channel in ("viber", "telegram"):
        caches["locks"].delete(sending.lock_key(channel))
    return viber_settings


def resident(channel: str, key: str, number: str, *, language: str = "uk") -> None:
    user = channel_identity_resolve(channel=channel, external_id=key, display_name="Марія", language_code=language)
    meter = MeterFactory(account__number=number, initial_values=[1000])
    AccountLink.objects.create(user=user, account=meter.account, reminders_enabled=True)


def test_a_reminder_reaches_viber_and_telegram_users_once_and_not_the_unsubscribed(sender, fake_viber, fake_bot_api):
    for n, key in enumerate(["vb-user-1==", "vb-user-2==", "vb-gone-3==", "vb-left-4=="]):
        resident("viber", key, f"20000000{n}")
        fake_viber.add_user(key)
    resident("viber", "vb-english==", "300000000", language="en")
    fake_viber.add_user("vb-english==")
    resident("telegram", "7001", "400000000")
    fake_bot_api.add_chat(7001)
    fake_viber.unsubscribe("vb-gone-3==")  # Viber knows; the portal learns it from the answer
    left = ChannelIdentity.objects.filter(external_id="vb-left-4==")
    left.update(blocked_at=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))  # told by an unsubscribed callback

    broadcast = services.broadcast_start(kind=Broadcast.Kind.WINDOW_OPENS, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=broadcast.pk)
    report = sending.deliveries_send(channel="viber")
    assert (report.sent, report.blocked, report.failed) == (3, 1, 0)
    assert sending.deliveries_send(channel="telegram").sent == 1
    assert sending.deliveries_send(channel="viber").sent == 0  # again: nothing twice

    sent = {call.params["receiver"]: call.params["text"] for call in fake_viber.messages()}
    assert set(sent) == {"vb-user-1==", "vb-user-2==", "vb-english=="}
    assert "200000000" in sent["vb-user-1=="] and "Показання" in sent["vb-user-1=="]
    assert "300000000" in sent["vb-english=="] and "Readings" in sent["vb-english=="]
    assert all(call.params["sender"]["name"] == "Показник" for call in fake_viber.messages())
    # The keyboard stays: the main menu under every reminder, in the resident's language.
    keyboards = {call.params["receiver"]: fake_viber.button_texts(call) for call in fake_viber.messages()}
    assert "Мої особові рахунки" in keyboards["vb-user-1=="] and "My personal accounts" in keyboards["vb-english=="]
    assert ChannelIdentity.objects.get(external_id="vb-gone-3==").blocked_at is not None
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [7001]


def test_the_review_of_a_reading_sent_in_viber_is_told_in_viber(sender, client, fake_viber):
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    chat = ViberChat(fake_viber, client)
    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        chat.say("Додати особовий рахунок")
        chat.say("123456789")
        chat.say("AB123")
        chat.say("Мої особові рахунки")
        chat.press("123456789")
        chat.say("99999")  # unusual: asked to confirm, then held for review
        chat.press("Так")
        reading = Reading.objects.get()
        assert (reading.channel, reading.status) == ("viber", Reading.Status.NEEDS_REVIEW)
        reading_approve(reading_id=reading.pk, reviewed_by=UserFactory(is_staff=True))
    assert Delivery.objects.get().channel == "viber"
    before = len(fake_viber.messages())
    assert sending.deliveries_send(channel="viber").sent == 1
    [notice] = fake_viber.messages()[before:]
    assert notice.params["receiver"] == USER_ID and "99999" in notice.params["text"]


def send(text: str = "Нагадування", receiver: str = "vb-user-1==") -> object:
    async def once():
        transport = ViberTransport()
        try:
            return await transport.send(receiver, text, kind=Broadcast.Kind.ANNOUNCEMENT)
        finally:
            await transport.close()

    return asyncio.run(once())


def test_what_each_of_vibers_answers_means_for_a_message(viber_settings, fake_viber, caplog):
    fake_viber.add_user("vb-user-1==")
    assert send() == Sent()
    assert send(receiver="never-wrote==") == Blocked()  # 5 receiverNotRegistered
    fake_viber.unsubscribe("vb-user-1==")
    assert send() == Blocked()  # 6 receiverNotSubscribed
    fake_viber.add_user("vb-user-1==")
    fake_viber.fail_next("send_message", 12)
    assert isinstance(send(), RetryAfter)
    fake_viber.fail_next("send_message", 0, http_status=503)
    assert isinstance(send(), Transient)
    assert send("") == Sent()  # an empty text is never sent empty: Viber refuses one
    fake_viber.fail_next("send_message", 3, "badData: keyboard")
    assert send() == Failed("3 badData: keyboard")
    viber_settings.VIBER_AUTH_TOKEN = "0123456789abcdef-wrong"
    assert send() == Failed("2 invalidAuthToken")
    viber_settings.VIBER_API_BASE = "http://127.0.0.1:9"  # nobody listens: network trouble
    assert isinstance(send(), Transient)
    assert "status 6 receiverNotSubscribed" in caplog.text and "status 2 invalidAuthToken" in caplog.text


def test_a_long_announcement_goes_in_parts_of_at_most_7000_characters(viber_settings, fake_viber):
    fake_viber.add_user("vb-user-1==")
    text = "\n".join(f"{n:04} " + "x" * 95 for n in range(100))  # 10,099 characters
    assert send(text) == Sent()
    parts = fake_viber.texts("vb-user-1==")
    assert len(parts) == 2 and all(len(part) <= 7000 for part in parts)
    assert "\n".join(part.rstrip("\n") for part in parts) == text


def test_a_subscriber_who_opened_the_chat_but_never_wrote_gets_no_reminder(sender, client, fake_viber):
    ViberChat(fake_viber, client, user_id="vb-looker==").start()
    user = ChannelIdentity.objects.get(external_id="vb-looker==").user
    meter = MeterFactory(account__number="500000000")
    AccountLink.objects.create(user=user, account=meter.account, reminders_enabled=True)
    broadcast = services.broadcast_start(kind=Broadcast.Kind.WINDOW_OPENS, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=broadcast.pk)
    assert broadcast.deliveries.count() == 0
