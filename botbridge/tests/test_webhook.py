"""POST /telegram/webhook/: who may post, what it accepts, once per update, failures of the Bot API."""

import json
import logging

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import OperationalError

from accounts.models import ChannelIdentity
from accounts.tests.factories import MeterFactory
from botbridge.models import ProcessedEvent
from botbridge.tests import updates
from botbridge.tests.chat import SECRET, texts
from portal.tests.servers import free_port
from readings.models import Reading

pytestmark = pytest.mark.django_db
URL = "/telegram/webhook/"


def post(client, body, secret: str | None = SECRET):
    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(URL, data=data, content_type="application/json", headers=headers)


@pytest.mark.parametrize("secret", [None, "", "wrong-secret-0123456789abcdef", SECRET + "x"])
def test_a_missing_or_wrong_secret_is_refused_and_nothing_is_processed(client, bot_settings, fake_bot_api, secret):
    response = post(client, updates.message("/start"), secret=secret)
    assert response.status_code == 403
    assert not ProcessedEvent.objects.exists()
    assert fake_bot_api.calls == []


@pytest.mark.parametrize(
    "body",
    ["", "not json", "[]", "{}", '{"update_id": "x"}', '{"update_id": 1, "message": {"text": "no chat"}}', b"\xff\xfe"],
)
def test_a_malformed_body_is_400_and_logged(client, bot_settings, fake_bot_api, caplog, body):
    with caplog.at_level(logging.WARNING, logger="botbridge.views"):
        response = post(client, body)
    assert response.status_code == 400
    assert "malformed update" in caplog.text
    assert fake_bot_api.calls == []


def test_without_a_token_the_webhook_is_off(client, settings):
    settings.TELEGRAM_BOT_TOKEN = ""
    assert post(client, updates.message("/start")).status_code == 404


def test_only_post_is_accepted(client, bot_settings):
    assert client.get(URL).status_code == 405


def submitting(resident) -> dict:
    """Link the account, open it: the next text is a reading."""
    MeterFactory(account__number="123456789", serial="AB123", initial_values=[1000])
    resident.say("Додати особовий рахунок")
    resident.say("123456789")
    resident.say("AB123")
    resident.say("Мої особові рахунки")
    resident.press("123456789")
    return updates.message("1250", user_id=resident.user_id)


def test_the_same_update_three_times_makes_one_reading(webhook_resident, client):
    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        reading = submitting(webhook_resident)
        for _ in range(3):
            assert post(client, reading).status_code == 200
    assert Reading.objects.count() == 1
    assert ProcessedEvent.objects.filter(key__endswith=f":{reading['update_id']}").count() == 1
    assert texts(webhook_resident.fake.sent_messages(111)).count("Показання прийнято: 1250") == 1


def test_a_429_is_waited_out_and_the_reply_arrives(webhook_resident, fake_bot_api, settings):
    settings.TELEGRAM_RETRY_MAX_SECONDS = 2
    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        reading = submitting(webhook_resident)
        fake_bot_api.fail_next("sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1)
        replies = webhook_resident.send(reading)
    assert [call.status for call in replies] == [429, 200]
    assert "Показання прийнято: 1250" in replies[-1].params["text"]


@pytest.mark.parametrize(
    ("status", "description", "retry_after"),
    [
        (429, "Too Many Requests: retry after 60", 60),  # longer than we may hold an update
        (502, "Bad Gateway", None),
        (400, "Bad Request: chat not found", None),
    ],
)
def test_when_replies_fail_the_reading_is_still_saved_and_the_failure_logged(
    webhook_resident, fake_bot_api, caplog, status, description, retry_after
):
    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        reading = submitting(webhook_resident)
        fake_bot_api.fail_next("sendMessage", status=status, description=description, retry_after=retry_after)
        with caplog.at_level(logging.WARNING, logger="botbridge.channels.telegram.dispatcher"):
            webhook_resident.send(reading)
    assert Reading.objects.get().values == (1250,)
    assert "Bot API refused a reply" in caplog.text


def test_set_webhook_and_delete_webhook_commands(bot_settings, fake_bot_api):
    call_command("set_webhook", "https://pokaznyk.example.ua/telegram/webhook/")
    [registered] = fake_bot_api.calls_to("setWebhook")
    assert registered.params["url"] == "https://pokaznyk.example.ua/telegram/webhook/"
    assert registered.params["secret_token"] == SECRET
    assert "callback_query" in registered.params["allowed_updates"]
    assert len(fake_bot_api.calls_to("setMyCommands")) == 2  # Ukrainian for all, English for "en"
    call_command("delete_webhook")
    assert len(fake_bot_api.calls_to("deleteWebhook")) == 1


def test_set_webhook_says_what_telegram_refused_without_a_traceback(bot_settings, fake_bot_api):
    with pytest.raises(CommandError, match="An HTTPS URL must be provided"):
        call_command("set_webhook", "http://pokaznyk.example.ua/telegram/webhook/")
    assert not fake_bot_api.calls_to("setMyCommands")


def test_webhook_commands_say_when_telegram_is_out_of_reach(bot_settings):
    bot_settings.TELEGRAM_API_BASE = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with pytest.raises(CommandError, match=r"did not set the webhook .*Cannot connect"):
        call_command("set_webhook", "https://pokaznyk.example.ua/telegram/webhook/")
    with pytest.raises(CommandError, match="did not remove the webhook"):
        call_command("delete_webhook")


def test_when_the_database_fails_the_webhook_says_503_and_telegram_retries(webhook_resident, client, monkeypatch):
    from botbridge import actions

    real, failures = actions.reading_from_chat, []

    def database_restarting_once(**kwargs):
        if not failures:
            failures.append(kwargs)
            raise OperationalError("the database system is starting up")
        return real(**kwargs)

    with time_machine.travel("2026-11-28 10:00 +02:00", tick=True):
        reading = submitting(webhook_resident)
        monkeypatch.setattr(actions, "reading_from_chat", database_restarting_once)
        client.raise_request_exception = False
        assert post(client, reading).status_code == 503  # an outage: Telegram retries any non-2xx
        assert not Reading.objects.exists()
        assert post(client, reading).status_code == 200  # Telegram re-delivers the same update
    assert Reading.objects.get().values == (1250,)
    assert "Показання прийнято: 1250" in webhook_resident.fake.texts(111)[-1]


# --- Crafted updates: a clear 400 for what Telegram never sends, 200 for what it may ----------


@pytest.mark.parametrize(
    "update",
    [
        updates.message("/start", update_id=2**63),  # one past the processed-updates table's bigint
        updates.message("/start", update_id=-(2**63) - 1),
        updates.message("/start", user_id=2**64),  # Telegram's ids have at most 52 bits
    ],
)
def test_integers_beyond_64_bits_are_not_an_update(client, bot_settings, fake_bot_api, update):
    assert post(client, update).status_code == 400
    assert not ProcessedEvent.objects.exists()
    assert fake_bot_api.calls == []


def test_json_nested_thousands_deep_is_not_an_update(client, bot_settings, fake_bot_api):
    assert post(client, "[" * 3000 + "]" * 3000).status_code == 400
    assert post(client, '{"update_id": 1, "message": {"x": ' + "[" * 100 + "]" * 100 + "}}").status_code == 400


def test_a_nul_in_a_users_name_is_replaced_and_the_resident_answered(webhook_resident, fake_bot_api):
    """PostgreSQL refuses NUL in text; the name is the user's own, so it is mended, not refused."""
    replies = webhook_resident.send(updates.message("/start", first_name="Ма\x00рія"))  # asserts the 200
    assert (
        ChannelIdentity.objects.get(channel="telegram", external_id=str(updates.DEFAULT_USER_ID)).display_name
        == "Ма\ufffdрія"
    )
    assert "Ма\ufffdрія" in replies[0].params["text"]


@pytest.mark.parametrize("text", ["/start", "Додати особовий рахунок", "123456789"])
def test_a_private_message_from_nobody_is_taken_and_dropped(client, bot_settings, fake_bot_api, caplog, text):
    """Telegram omits `from` for messages sent on behalf of a chat; no resident sent it, no one to answer."""
    update = updates.message(text)
    del update["message"]["from"]
    with caplog.at_level(logging.INFO, logger="botbridge.channels.telegram.middlewares"):
        assert post(client, update).status_code == 200
    assert "no sender" in caplog.text
    assert ProcessedEvent.objects.filter(key__endswith=f":{update['update_id']}").exists()
    assert fake_bot_api.calls == []
