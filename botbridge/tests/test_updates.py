"""Every kind of update Telegram sends, as real JSON through the webhook, and what the resident sees.

Private text messages are the subject of test_conversation.py; here: edits, stale buttons,
blocks, media, groups, channels, the English interface and /cancel at every step.
"""

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from accounts.models import ChannelIdentity, User
from accounts.tests.factories import MeterFactory
from botbridge.tests import updates
from botbridge.tests.chat import Conversation, texts
from botbridge.tests.fake_bot_api import Call, FakeBotAPI
from readings.models import Reading

pytestmark = pytest.mark.django_db

IN_THE_WINDOW = "2026-11-28 10:00 +02:00"  # the window 27.11–03.12.2026 is open
MENU = [["Додати особовий рахунок"], ["Мої особові рахунки", "Допомога"], ["Увійти в кабінет"]]
MENU_EN = [["Add personal account"], ["My personal accounts", "Help"], ["Sign in to the cabinet"]]
TEXT_ONLY = "Я розумію лише текст"
PRIVATE_ONLY = "Я працюю лише в особистих чатах"
STALE = "Ця кнопка вже не діє"


@pytest.fixture
def home(db):
    return MeterFactory(account__number="123456789", account__address="вул. Соборна, 123", serial="AB123")


@pytest.fixture
def in_the_window():
    with time_machine.travel(IN_THE_WINDOW, tick=True):
        yield


def reply_keyboard(fake: FakeBotAPI, call: Call) -> list[list[str]]:
    markup = fake.reply_markup(call) or {}
    return [
        [button if isinstance(button, str) else button["text"] for button in row] for row in markup.get("keyboard", [])
    ]


def refused(fake: FakeBotAPI) -> list[Call]:
    return [call for call in fake.calls if call.status != 200]


def link(resident: Conversation) -> None:
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    assert "123456789 додано" in texts(resident.say("AB123"))


def open_account(resident: Conversation) -> None:
    resident.say("Мої особові рахунки")
    assert "Надішліть показання" in texts(resident.press("123456789"))


def at_step(resident: Conversation, step: str) -> None:
    resident.say("/start")
    if step in ("reading", "Так/Ні"):
        link(resident)
        open_account(resident)
    if step == "Так/Ні":
        assert "Показання правильні?" in texts(resident.say("99999"))
    elif step in ("account number", "meter serial"):
        resident.say("Додати особовий рахунок")
    if step == "meter serial":
        resident.say("123456789")


# --- Edits ----------------------------------------------------------------------------------------


def test_an_edited_message_is_answered_politely_and_not_read(home, webhook_resident, in_the_window):
    at_step(webhook_resident, "reading")
    [reply] = webhook_resident.send(updates.edited_message("1250"))
    assert reply.method == "sendMessage"
    assert reply.params["chat_id"] == webhook_resident.user_id
    assert "Відредаговані повідомлення я не читаю" in reply.params["text"]
    assert not Reading.objects.exists()
    # The resident is still asked for the reading: the corrected text as a new message counts.
    assert "Показання прийнято: 1250" in texts(webhook_resident.say("1250"))
    assert refused(webhook_resident.fake) == []


# --- Buttons that no longer work ------------------------------------------------------------------


@pytest.mark.parametrize("data", ["acc:open:123456789", "cf:yes", "mtr:1", "menu:v1:old-layout"])
def test_a_press_on_an_unknown_button_gets_an_alert(home, webhook_resident, data):
    webhook_resident.say("/start")
    [answer] = webhook_resident.send(updates.callback(data))
    assert answer.method == "answerCallbackQuery"
    assert answer.status == 200
    assert answer.params.get("show_alert") is True
    assert STALE in answer.params["text"]


def test_the_buttons_of_a_removed_account_get_an_alert(home, webhook_resident, in_the_window):
    at_step(webhook_resident, "reading")
    webhook_resident.press("Відв’язати рахунок")
    assert "Рахунок 123456789 відв’язано" in texts(webhook_resident.press("Так, відв’язати"))
    for button in ("Останні показання", "Нагадування: увімкнено"):
        [answer] = webhook_resident.press(button)
        assert answer.params.get("show_alert") is True
        assert STALE in answer.params["text"]
    assert refused(webhook_resident.fake) == []


# --- Blocking the bot -----------------------------------------------------------------------------


def test_blocking_the_bot_is_recorded_silently_and_unblocking_clears_it(webhook_resident, fake_bot_api):
    with time_machine.travel(IN_THE_WINDOW, tick=True):
        webhook_resident.say("/start")
        identity = ChannelIdentity.objects.get(channel="telegram", external_id=str(webhook_resident.user_id))
        assert identity.blocked_at is None
        calls = len(fake_bot_api.calls)

        webhook_resident.send(updates.my_chat_member("kicked"))
        identity.refresh_from_db()
        assert identity.blocked_at is not None
        assert abs(identity.blocked_at - timezone.now()) < dt.timedelta(minutes=1)
        assert fake_bot_api.calls[calls:] == []  # nothing sent to someone who blocked the bot

        webhook_resident.send(updates.my_chat_member("member"))
        identity.refresh_from_db()
        assert identity.blocked_at is None
        assert fake_bot_api.calls[calls:] == []


# --- Not text -------------------------------------------------------------------------------------

# Photos and pictures sent as files are evidence for a reading: test_photo_flows.py.
NOT_TEXT = {
    "sticker": lambda: updates.sticker(),
    "voice": lambda: updates.voice(),
    "contact": lambda: updates.contact(),
    "contact without +": lambda: updates.contact(phone_number="380501234567"),
    "location": lambda: updates.location(),
    "document": lambda: updates.document(),
    "document with a reading as caption": lambda: updates.document("pokazy.pdf", caption="1250"),
}


@pytest.mark.parametrize("step", ["idle", "account number", "reading"])
@pytest.mark.parametrize("kind", list(NOT_TEXT))
def test_what_is_not_text_gets_a_polite_text_only_answer_and_saves_nothing(
    home, webhook_resident, in_the_window, kind, step
):
    at_step(webhook_resident, step)
    replies = webhook_resident.send(NOT_TEXT[kind]())
    assert [(call.method, call.status) for call in replies] == [("sendMessage", 200)]
    assert replies[0].params["chat_id"] == webhook_resident.user_id
    assert TEXT_ONLY in replies[0].params["text"]
    assert not Reading.objects.exists()
    assert refused(webhook_resident.fake) == []


# --- Groups and channels --------------------------------------------------------------------------


GROUP_UPDATES = {
    "group": lambda text: updates.message(text, user_id=555, chat_id=-4_001_234_567, chat_type="group"),
    "supergroup": lambda text: updates.group_message(text, user_id=555),
    "supergroup, edited": lambda text: updates.edited_message(
        text, user_id=555, chat_id=-100123, chat_type="supergroup"
    ),
}


@pytest.mark.parametrize("text", ["/start", "/start@pokaznyk_test_bot", "1250", "Додати особовий рахунок"])
@pytest.mark.parametrize("kind", list(GROUP_UPDATES))
def test_in_a_group_the_bot_says_it_works_in_private_chats_only(home, webhook_resident, fake_bot_api, kind, text):
    users = User.objects.count()
    update = GROUP_UPDATES[kind](text)
    chat_id = next(value for key, value in update.items() if key != "update_id")["chat"]["id"]
    replies = webhook_resident.send(update)
    assert [(call.method, call.status, call.params["chat_id"]) for call in replies] == [("sendMessage", 200, chat_id)]
    assert PRIVATE_ONLY in replies[0].params["text"]
    assert User.objects.count() == users  # the sender gets no portal user from a group
    assert not ChannelIdentity.objects.filter(channel="telegram", external_id="555").exists()
    assert fake_bot_api.sent_messages(555) == []


@pytest.mark.parametrize("text", ["1250", "/start"])
def test_in_a_channel_the_bot_says_it_works_in_private_chats_only(webhook_resident, fake_bot_api, text):
    replies = webhook_resident.send(updates.channel_post(text))
    assert [(call.method, call.status, call.params["chat_id"]) for call in replies] == [
        ("sendMessage", 200, updates.CHANNEL_CHAT_ID)
    ]
    assert PRIVATE_ONLY in replies[0].params["text"]
    assert not User.objects.exists()


# --- English --------------------------------------------------------------------------------------


def test_an_english_speaking_resident_gets_english_and_the_english_buttons_work(
    home, webhook_resident, fake_bot_api, in_the_window
):
    resident = Conversation(fake_bot_api, webhook_resident.deliver, user_id=444, language_code="en")
    [greeting] = resident.say("/start")
    assert greeting.params["text"].startswith("Hello, Марія!")
    assert reply_keyboard(fake_bot_api, greeting) == MENU_EN

    [ask] = resident.say("Add personal account")
    assert "Enter your personal account number" in ask.params["text"]
    assert reply_keyboard(fake_bot_api, ask) == [["Cancel"]]
    assert "Now enter the serial number" in texts(resident.say("123456789"))
    assert "account 123456789 is added" in texts(resident.say("AB123"))

    [listing] = resident.say("My personal accounts")
    assert [button["text"] for button in fake_bot_api.inline_buttons(listing)] == ["123456789", "« Back"]
    card = resident.press("123456789")
    assert "Personal account 123456789" in texts(card)
    assert [button["text"] for button in fake_bot_api.inline_buttons(card[1])] == [
        "Last readings",
        "Reminders: on",
        "Remove account",
        "« Back",
    ]
    assert "Reading accepted: 1250" in texts(resident.say("1250"))
    assert "How to send readings" in texts(resident.say("Help"))
    resident.say("Add personal account")
    [cancelled] = resident.say("Cancel")
    assert reply_keyboard(fake_bot_api, cancelled) == MENU_EN
    assert refused(fake_bot_api) == []


# --- /cancel --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cancel", ["/cancel", "Скасувати"])
@pytest.mark.parametrize("step", ["idle", "account number", "meter serial", "reading", "Так/Ні"])
def test_cancel_at_every_step_returns_to_the_main_keyboard(
    home, webhook_resident, fake_bot_api, in_the_window, step, cancel
):
    at_step(webhook_resident, step)
    [reply] = webhook_resident.say(cancel)
    assert reply.params["text"].startswith("Скасовано")
    assert reply_keyboard(fake_bot_api, reply) == MENU
    assert "Не зрозумів повідомлення" in texts(webhook_resident.say("1250"))  # no step waits for it
    if step == "Так/Ні":
        [answer] = webhook_resident.press("Так")  # the question's button is dead now
        assert STALE in answer.params["text"]
    assert not Reading.objects.exists()
    assert refused(fake_bot_api) == []
