"""One window reminder to residents on all three messengers: the schedule's tick starts it, each
channel's sender sends its part through its own platform, once."""

import datetime as dt
import time

import pytest
import time_machine
from django.core.cache import caches

from accounts.identities import channel_identity_resolve
from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge import sending, tasks
from botbridge.models import Broadcast, Delivery
from conftest import kyiv

pytestmark = pytest.mark.django_db

OPENS = kyiv(2026, 11, 27, 9, 5)  # December's window opens on Friday 27.11


@pytest.fixture
def every_channel(bot_settings, viber_settings, messenger_settings):
    for channel in ("telegram", "viber", "messenger"):
        caches["locks"].delete(sending.lock_key(channel))
    return bot_settings


def resident(channel: str, external_id: str, number: str) -> None:
    user = channel_identity_resolve(channel=channel, external_id=external_id, display_name="Марія", language_code="uk")
    meter = MeterFactory(account__number=number, initial_values=[1000])
    AccountLink.objects.create(user=user, account=meter.account, reminders_enabled=True)


def test_one_reminder_reaches_the_residents_of_every_messenger_once(
    every_channel, fake_bot_api, fake_viber, fake_graph, eager_celery, django_capture_on_commit_callbacks
):
    with time_machine.travel(OPENS - dt.timedelta(hours=1), tick=True):
        resident("telegram", "8101", "810100000")
        fake_bot_api.add_chat(8101)
        resident("viber", "vb-reminded==", "820200000")
        fake_viber.add_user("vb-reminded==")
        resident("messenger", "24886731224305180", "830300000")  # wrote an hour before: inside 24 hours
        fake_graph.wrote("24886731224305180", at=time.time())
    with time_machine.travel(OPENS, tick=True):
        with django_capture_on_commit_callbacks(execute=True):
            (broadcast_id,) = tasks.reminders_tick.delay().get()
        with django_capture_on_commit_callbacks(execute=True):
            assert tasks.reminders_tick.delay().get() == []  # the schedule asks again: nothing new
            tasks.outbox_tick.delay().get()  # and the outbox finds nothing left to send

    assert [(call.params["chat_id"], "810100000" in call.params["text"]) for call in fake_bot_api.sent_messages()] == [
        (8101, True)
    ]
    assert [(call.params["receiver"], "820200000" in call.params["text"]) for call in fake_viber.messages()] == [
        ("vb-reminded==", True)
    ]
    assert [
        (call.body["recipient"]["id"], call.body["messaging_type"], "830300000" in call.body["message"]["text"])
        for call in fake_graph.sent()
    ] == [("24886731224305180", "UPDATE", True)]
    deliveries = Delivery.objects.filter(broadcast_id=broadcast_id)
    assert sorted(deliveries.values_list("channel", "status")) == [
        ("messenger", "sent"),
        ("telegram", "sent"),
        ("viber", "sent"),
    ]
    assert Broadcast.objects.get(pk=broadcast_id).finished_at is not None
    assert not ChannelIdentity.objects.filter(blocked_at__isnull=False).exists()
