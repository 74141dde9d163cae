"""/login and the cabinet button: a one-time link that signs the same resident in on the web."""

import http.client
import json
import re
from urllib.parse import urlsplit

import pytest
import time_machine

from accounts.errors import SignInLinkUnavailable
from accounts.models import ChannelIdentity
from accounts.signin_links import signin_link_redeem
from accounts.tests.factories import MeterFactory
from accounts.tests.telegram import signin_link_token
from botbridge import texts as bot_texts
from botbridge.tests.chat import Conversation, webhook_deliver
from botbridge.tests.fake_bot_api import Call, FakeBotAPI

PORTAL = "https://pokaznyk.example.ua"
NOW = "2026-11-28 10:00 +02:00"


@pytest.fixture
def portal(settings):
    settings.PORTAL_URL = PORTAL
    settings.SIGNIN_LINK_MAX_AGE_SECONDS = 600
    return settings


def the_link(reply: Call) -> str:
    [url] = re.findall(r"https?://\S+", reply.params["text"])
    return url


@pytest.mark.parametrize("ask", ["/login", "button"])
def test_the_link_signs_in_the_residents_own_portal_user(portal, webhook_resident, ask):
    with time_machine.travel(NOW, tick=True):
        [reply] = webhook_resident.say(str(bot_texts.MENU_SIGNIN) if ask == "button" else ask)
        url = the_link(reply)

        assert url.startswith(f"{PORTAL}/")
        user = signin_link_redeem(token=signin_link_token(url))
    assert user == ChannelIdentity.objects.get(channel="telegram", external_id=str(webhook_resident.user_id)).user


def test_the_reply_is_plain_text_without_a_link_preview(portal, webhook_resident):
    [reply] = webhook_resident.say("/login")

    assert reply.status == 200
    assert "parse_mode" not in reply.params
    # Telegram's preview fetcher would otherwise open the link (aiogram sends the options as
    # a JSON string in a form field; the fake decodes it as Telegram does).
    assert reply.params["link_preview_options"] == {"is_disabled": True}


def test_the_reply_says_the_link_works_ten_minutes_and_once(portal, webhook_resident):
    [reply] = webhook_resident.say("/login")

    assert "10 хвилин і лише один раз" in reply.params["text"]


def test_the_reply_in_english(db, portal, bot_settings, fake_bot_api, client):
    resident = Conversation(fake_bot_api, webhook_deliver(client), user_id=444, language_code="en")
    [reply] = resident.say("/login")

    assert "10 minutes and only once" in reply.params["text"]


def test_every_request_gets_a_new_link(portal, webhook_resident):
    first, second = (the_link(webhook_resident.say("/login")[0]) for _ in range(2))
    assert first != second


def test_without_a_portal_url_the_bot_says_the_cabinet_is_not_available(settings, webhook_resident):
    settings.PORTAL_URL = ""
    [reply] = webhook_resident.say("/login")
    assert reply.params["text"] == SignInLinkUnavailable().message


def test_the_button_is_the_main_keyboards_third_row(portal, webhook_resident):
    [greeting] = webhook_resident.say("/start")
    rows = webhook_resident.fake.reply_markup(greeting)["keyboard"]
    assert [button["text"] for button in rows[2]] == [str(bot_texts.MENU_SIGNIN)]


def test_a_link_asked_for_midway_leaves_the_step_as_it_was(portal, webhook_resident):
    MeterFactory(account__number="123456789", serial="AB123")
    webhook_resident.say("Додати особовий рахунок")
    webhook_resident.say("123456789")
    [reply] = webhook_resident.say("/login")
    assert "reply_markup" not in reply.params  # the step's own keyboard stays
    assert "123456789 додано" in webhook_resident.say("AB123")[0].params["text"]


# --- The fake Bot API takes link_preview_options as Telegram does ------------------------------


def post_json(fake: FakeBotAPI, method: str, body: dict) -> tuple[int, dict]:
    address = urlsplit(fake.base_url)
    connection = http.client.HTTPConnection(address.hostname or "", address.port, timeout=5)
    try:
        connection.request(
            "POST", f"/bot{fake.token}/{method}", body=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("options", "description"),
    [
        ({"is_disabled": True, "url": "https://example.com"}, None),
        ("{", "Bad Request: can't parse link preview options JSON object"),
        ([], "Bad Request: object expected as link preview options"),
        ({"is_disabled": "1"}, 'Bad Request: field "is_disabled" must be of type Boolean'),
        ({"url": 5}, 'Bad Request: field "url" must be of type String'),
    ],
)
def test_the_fake_refuses_what_telegram_refuses_in_link_preview_options(fake_bot_api, options, description):
    fake_bot_api.add_chat(111)
    status, answer = post_json(
        fake_bot_api, "sendMessage", {"chat_id": 111, "text": "x", "link_preview_options": options}
    )
    assert (status, answer.get("description")) == ((200, None) if description is None else (400, description))
