"""The seed's conversation in Messenger: signed webhook POSTs of Messenger's JSON in, the fake
Graph API's record out."""

import csv
import io

import pytest
import time_machine
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from accounts.models import ChannelIdentity
from accounts.tests.factories import MeterFactory, UserFactory
from botbridge.tests.messenger_chat import PSID, MessengerChat, texts, titles
from readings.models import Reading

IN_WINDOW = "2026-11-28 10:00 +02:00"
MAIN_MENU = ["Додати рахунок", "Мої рахунки", "Допомога", "Вхід у кабінет"]


@pytest.fixture
def resident(db, client, messenger_settings, fake_graph) -> MessengerChat:
    return MessengerChat(client, fake_graph)


def test_the_seed_conversation(resident, fake_graph):
    MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")
    MeterFactory(
        account__number="987654321",
        account__address="просп. Миру, 45, кв. 6",
        serial="GAMA1",
        zones=2,
        initial_values=[1000, 500],
    )
    with time_machine.travel(IN_WINDOW, tick=True):
        [greeting] = resident.postback("start")  # the Get Started button
        assert "Вітаю" in texts([greeting]) and titles(greeting) == MAIN_MENU
        assert greeting.body["messaging_type"] == "RESPONSE"

        [ask] = resident.press("Додати рахунок")
        assert "номер особового рахунку" in texts([ask]) and titles(ask) == ["Скасувати"]
        assert "на самому лічильнику" in texts(resident.say("123456789"))
        [added] = resident.say("AB123")
        assert "123456789 додано" in texts([added]) and "вул. Соборна, 1**" in texts([added])

        resident.postback("add")  # the persistent menu's "Додати особовий рахунок"
        resident.say("987654321")
        assert "987654321 додано" in texts(resident.say("gama1"))

        [listing] = resident.postback("accounts")
        assert titles(listing) == ["123456789", "987654321", "« Назад"]
        *card, ask = resident.press("987654321")
        # The card's options stay on it as buttons (three a message): the question comes after it.
        assert "двозонний (день/ніч)" in texts(card[:1])
        options = [title for call in card for title in titles(call)]
        assert options == ["Останні показання", "Нагадування: так", "Відв’язати рахунок", "« Назад"]
        assert "1111/2222" in texts([ask]) and titles(ask) == ["Скасувати"]

        recorded = texts(resident.say("1111/2222"))
        assert "Показання прийнято: 1111/2222" in recorded and "4199,04 грн" in recorded

        resident.postback("accounts")
        resident.press("987654321")
        [history] = resident.press("Останні показання")
        assert "1111/2222 · Прийнято: зараховано на 01.12.2026 · Messenger · Квитанція " in texts([history])

        help_text = texts(resident.postback("help"))
        assert "Як передати показання" in help_text and "1111/2222 (день/ніч)" in help_text
    reading = Reading.objects.get()
    assert (reading.channel, reading.channel_user_key) == ("messenger", PSID)
    assert reading.submitted_by.channel_identities.get().channel == "messenger"
    assert fake_graph.refused() == []

    # The portal's reading: in the billing export with its channel.
    billing = UserFactory(username="billing", is_staff=True)
    billing.user_permissions.add(Permission.objects.get(codename="export_readings"))
    api = APIClient()
    api.force_authenticate(billing)
    export = api.get("/api/v1/export/readings/", {"period": "2026-12-01"})
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [(row[2], row[4], row[5], row[11]) for row in rows[1:]] == [("GAMA1", "1111", "2222", "messenger")]


def test_a_reply_refused_because_the_page_was_blocked_marks_the_resident_until_they_write_again(resident, fake_graph):
    identity = ChannelIdentity.objects.filter(channel="messenger", external_id=PSID)
    assert resident.postback("start")
    fake_graph.block(PSID)  # blocked the Page right after writing
    assert resident.say("Мої рахунки") == []
    assert identity.get().blocked_at is not None  # reminders skip them
    fake_graph.block(PSID, blocked=False)
    assert resident.say("Мої рахунки")
    assert identity.get().blocked_at is None
