"""The seed's whole conversation, Ukrainian, through both transports."""

import pytest
import time_machine

from accounts.models import AccountLink, ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge.tests.chat import Conversation, Polling, texts
from readings.models import Reading

MENU = [["Додати особовий рахунок"], ["Мої особові рахунки", "Допомога"], ["Увійти в кабінет"]]


@pytest.fixture
def homes(db):
    """Two households: a single-zone meter and a day/night meter."""
    MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")
    MeterFactory(
        account__number="987654321",
        account__address="просп. Миру, 45, кв. 6",
        serial="GAMA1",
        zones=2,
        initial_values=[1000, 500],
    )


def reply_keyboard(fake, call) -> list[list[str]]:
    markup = fake.reply_markup(call) or {}
    return [
        [button if isinstance(button, str) else button["text"] for button in row] for row in markup.get("keyboard", [])
    ]


def seed_conversation(resident: Conversation) -> None:
    fake = resident.fake
    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        [greeting] = resident.say("/start")
        assert "Вітаю, Марія" in greeting.params["text"]
        assert reply_keyboard(fake, greeting) == MENU

        assert "номер особового рахунку" in texts(resident.say("Додати особовий рахунок"))
        assert "на самому лічильнику" in texts(resident.say("123456789"))
        added = texts(resident.say("AB123"))
        assert "123456789 додано" in added
        assert "вул. Соборна, 1**" in added  # enough to recognise the home, not to learn the address

        resident.say("Додати особовий рахунок")
        resident.say("987654321")
        assert "просп. Миру, 4*, кв. 6" in texts(resident.say("gama1"))

        [listing] = resident.say("Мої особові рахунки")
        assert [button["text"] for button in fake.inline_buttons(listing)] == ["123456789", "987654321", "« Назад"]

        card = texts(resident.press("987654321"))
        assert "двозонний (день/ніч)" in card
        assert "Прийом показань триває до 03.12.2026" in card
        assert "1111/2222" in card  # asks in the meter's own format

        recorded = texts(resident.say("1111/2222"))
        assert "Показання прийнято: 1111/2222" in recorded
        assert "на 01.12.2026" in recorded
        assert "день 111 кВт·год, ніч 1722 кВт·год" in recorded
        assert "4199,04 грн" in recorded  # (111 × 1 + 1722 × 0.5) kWh × 4.32 UAH

        resident.say("Мої особові рахунки")
        resident.press("987654321")
        history = texts(resident.press("Останні показання"))
        assert "1111/2222 · Прийнято: зараховано на 01.12.2026 · Telegram · Квитанція " in history

    identity = ChannelIdentity.objects.get(channel="telegram", external_id=str(resident.user_id))
    assert AccountLink.objects.filter(user=identity.user).count() == 2
    reading = Reading.objects.get()
    assert (reading.values, reading.channel, reading.channel_user_key, reading.submitted_by) == (
        (1111, 2222),
        "telegram",
        str(resident.user_id),
        identity.user,
    )
    refused = [call for call in fake.calls if call.status != 200]
    assert refused == []


def test_the_seed_conversation_through_the_webhook(homes, webhook_resident):
    seed_conversation(webhook_resident)


@pytest.mark.django_db(transaction=True)
def test_the_seed_conversation_through_long_polling(homes, bot_settings, fake_bot_api):
    with Polling(fake_bot_api) as polling:
        seed_conversation(Conversation(fake_bot_api, polling.deliver))
    commands = fake_bot_api.calls_to("setMyCommands")
    assert [c["command"] for c in commands[0].params["commands"]] == ["start", "accounts", "help", "cancel", "login"]
