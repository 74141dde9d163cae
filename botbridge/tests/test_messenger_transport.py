"""Reminders, announcements and notices to Messenger users through the one sender: Messenger's
24-hour rule, its utility template, and what its refusals mean."""

import datetime as dt
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import caches
from django.utils import timezone

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge import sending, services
from botbridge.channels.messenger.outbound import MessengerTransport
from botbridge.models import Broadcast, Delivery
from botbridge.outbound import Blocked, Failed, RetryAfter, Sent, Transient

pytestmark = pytest.mark.django_db

RECENT, LONG_AGO = "100000000000001", "100000000000002"
NOT_SET = "outside Messenger's 24-hour window and MESSENGER_REMINDER_TEMPLATE is not set"


@pytest.fixture
def sender(messenger_settings, fake_graph):
    messenger_settings.MESSENGER_BROADCAST_RATE = 200
    caches["locks"].delete(sending.lock_key("messenger"))
    return messenger_settings


def person(psid: str, fake, *, hours_ago: float = 1, channel: str = "messenger") -> None:
    """A resident with an account and reminders on, who last wrote `hours_ago`."""
    user = channel_identity_resolve(channel=channel, external_id=psid, display_name="Марія")
    wrote = timezone.now() - dt.timedelta(hours=hours_ago)
    ChannelIdentity.objects.filter(channel=channel, external_id=psid).update(messaged_at=wrote)
    if fake is not None:
        fake.wrote(psid, at=time.time() - hours_ago * 3600)
    meter = MeterFactory(initial_values=[1000])
    AccountLink.objects.create(user=user, account=meter.account, reminders_enabled=True)


def broadcast(kind=Broadcast.Kind.WINDOW_OPENS) -> Broadcast:
    if kind == Broadcast.Kind.ANNOUNCEMENT:
        made = services.broadcast_announce(text="Планові роботи 05.12: показання приймаємо як завжди.", created_by=None)
    else:
        made = services.broadcast_start(kind=kind, period=dt.date(2026, 12, 1))
    services.broadcast_fill(broadcast_id=made.pk)
    return made


def statuses() -> dict[str, tuple[str, str]]:
    return {
        key: (status, error) for key, status, error in Delivery.objects.values_list("recipient_key", "status", "error")
    }


def test_inside_24_hours_a_reminder_goes_as_an_update(sender, fake_graph):
    person(RECENT, fake_graph, hours_ago=3)
    broadcast()
    report = sending.deliveries_send(channel="messenger")
    assert (report.sent, report.failed) == (1, 0)
    [call] = fake_graph.sent(RECENT)
    assert call.body["messaging_type"] == "UPDATE" and "Показання приймають" in call.body["message"]["text"]


def test_outside_24_hours_without_a_template_nothing_is_sent_and_the_delivery_says_why(sender, fake_graph):
    person(RECENT, fake_graph, hours_ago=1)
    person(LONG_AGO, fake_graph, hours_ago=30)
    broadcast()
    report = sending.deliveries_send(channel="messenger")
    assert (report.sent, report.failed) == (1, 1)
    assert statuses()[LONG_AGO] == ("failed", NOT_SET)
    assert fake_graph.sent(LONG_AGO) == [] and fake_graph.refused() == []


def test_outside_24_hours_a_reminder_goes_as_the_utility_template(sender, fake_graph):
    sender.MESSENGER_REMINDER_TEMPLATE = "reading_reminder"
    person(LONG_AGO, fake_graph, hours_ago=30)
    broadcast(Broadcast.Kind.LAST_DAY)
    assert sending.deliveries_send(channel="messenger").sent == 1
    [call] = fake_graph.sent(LONG_AGO)
    assert call.body["messaging_type"] == "UTILITY"
    payload = call.body["message"]["attachment"]["payload"]
    assert (payload["template_type"], payload["name"], payload["language"]) == ("utility", "reading_reminder", "uk")
    [parameter] = payload["components"][0]["parameters"]
    assert "останній день" in parameter["text"]


def test_an_announcement_outside_24_hours_is_not_sent_even_with_a_template(sender, fake_graph):
    sender.MESSENGER_REMINDER_TEMPLATE = "reading_reminder:en_US"
    person(LONG_AGO, fake_graph, hours_ago=25)
    broadcast(Broadcast.Kind.ANNOUNCEMENT)
    assert sending.deliveries_send(channel="messenger").failed == 1
    status, error = statuses()[LONG_AGO]
    assert status == "failed" and "only window reminders" in error
    assert fake_graph.calls == []


def test_a_template_messenger_does_not_know_fails_the_delivery(sender, fake_graph):
    sender.MESSENGER_REMINDER_TEMPLATE = "never_approved"
    person(LONG_AGO, fake_graph, hours_ago=48)
    broadcast()
    assert sending.deliveries_send(channel="messenger").failed == 1
    assert "2018331" in statuses()[LONG_AGO][1]


def test_a_person_who_blocked_the_page_is_marked_and_left_out_next_time(sender, fake_graph):
    person(RECENT, fake_graph)
    person(LONG_AGO, fake_graph)  # wrote an hour ago too, but blocked the Page since
    fake_graph.block(LONG_AGO)
    broadcast()
    report = sending.deliveries_send(channel="messenger")
    assert (report.sent, report.blocked) == (1, 1)
    assert ChannelIdentity.objects.get(channel="messenger", external_id=LONG_AGO).blocked_at is not None
    assert LONG_AGO not in set(
        broadcast(Broadcast.Kind.ANNOUNCEMENT).deliveries.values_list("recipient_key", flat=True)
    )


def send_one(text="Нагадування", kind="window_opens", recipient=RECENT):
    async def send():
        transport = MessengerTransport()
        try:
            return await transport.send(recipient, text, kind=kind)
        finally:
            await transport.close()

    return async_to_sync(send)()


def test_what_messengers_answers_mean(sender, fake_graph):
    person(RECENT, fake_graph)
    person("999", None)  # wrote to the portal's Page, as far as we know; Messenger knows no such person
    assert send_one() == Sent()
    fake_graph.rate_limited = True
    assert isinstance(send_one(), RetryAfter)
    fake_graph.rate_limited = False
    fake_graph.server_errors = 1
    assert isinstance(send_one(), Transient)
    assert send_one(recipient="999") == Failed(
        "400 code 100/2018001: (#100) No matching user found (fbtrace_id AbCdEfG123)"
    )
    fake_graph.block(RECENT)
    assert send_one() == Blocked()
    sender.MESSENGER_PAGE_ACCESS_TOKEN = "EAAwrongToken000000000000"
    outcome = send_one()
    assert isinstance(outcome, Failed) and "code 190" in outcome.error
    sender.MESSENGER_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    assert isinstance(send_one(), Transient)


def test_a_long_announcement_goes_in_parts_between_lines(sender, fake_graph):
    person(RECENT, fake_graph)
    lines = [f"{n:04} " + "щось важливе " * 10 for n in range(30)]
    text = "\n".join(lines)  # 4,079 characters: 14 lines a message
    assert send_one(text=text, kind="announcement") == Sent()
    parts = [call.body["message"]["text"] for call in fake_graph.sent(RECENT)]
    assert len(parts) == 3 and all(len(part) <= 2000 for part in parts) and "\n".join(parts) == text


def test_one_reminder_reaches_users_of_telegram_and_messenger_once(sender, fake_graph, bot_settings, fake_bot_api):
    bot_settings.TELEGRAM_BROADCAST_RATE = 200
    caches["locks"].delete(sending.lock_key("telegram"))
    for psid in (RECENT, LONG_AGO):
        person(psid, fake_graph)
    person("7001", None, channel="telegram")
    fake_bot_api.add_chat(7001)
    reminder = broadcast()
    assert sorted(reminder.deliveries.values_list("channel", flat=True)) == ["messenger", "messenger", "telegram"]
    assert sending.deliveries_send(channel="messenger").sent == 2
    assert sending.deliveries_send(channel="telegram").sent == 1
    assert sending.deliveries_send(channel="messenger").sent == 0  # again: nothing twice
    assert sorted(call.body["recipient"]["id"] for call in fake_graph.sent()) == [RECENT, LONG_AGO]
    assert [call.params["chat_id"] for call in fake_bot_api.sent_messages()] == [7001]
    reminder.refresh_from_db()
    assert reminder.finished_at is not None
