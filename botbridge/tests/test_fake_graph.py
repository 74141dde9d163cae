"""The fake Graph API refuses what Messenger refuses: a fake that accepted everything would hide
the bugs it is there to catch."""

import time

import httpx
import pytest

from botbridge.tests.fake_graph import DEFAULT_TOKEN, FakeGraphAPI

PSID = "24886731224305179"


@pytest.fixture
def fake():
    with FakeGraphAPI() as fake:
        fake.wrote(PSID)
        yield fake


def send(fake: FakeGraphAPI, message: dict | None = None, *, token: str = DEFAULT_TOKEN, **body) -> dict:
    request = {"recipient": {"id": PSID}, "messaging_type": "RESPONSE", "message": message or {"text": "Вітаю"}}
    response = httpx.post(f"{fake.base_url}/me/messages", params={"access_token": token}, json={**request, **body})
    return response.json()


def code(answer: dict) -> tuple:
    error = answer.get("error", {})
    return error.get("code"), error.get("error_subcode")


def quick(count: int, title: str = "Так") -> dict:
    return {"text": "?", "quick_replies": [{"content_type": "text", "title": title, "payload": "C:yes:"}] * count}


def test_a_valid_message_is_accepted_and_recorded(fake):
    assert send(fake)["recipient_id"] == PSID
    assert send(fake, quick(13, "x" * 20))["message_id"]
    assert [call.body["message"]["text"] for call in fake.sent(PSID)] == ["Вітаю", "?"]


@pytest.mark.parametrize(
    ("message", "extra", "expected"),
    [
        ({"text": "x" * 2001}, {}, (100, None)),
        ({"text": ""}, {}, (100, None)),
        (quick(14), {}, (100, None)),
        (quick(1, "x" * 21), {}, (100, None)),
        ({"text": "x", "attachment": {"type": "template"}}, {}, (100, None)),
        (None, {"messaging_type": None}, (100, None)),
        (None, {"recipient": {"id": "1"}}, (100, 2018001)),
    ],
)
def test_what_messenger_refuses_is_refused(fake, message, extra, expected):
    assert code(send(fake, message, **extra)) == expected


def test_buttons_tokens_people_windows_and_limits(fake):
    buttons = [{"type": "postback", "title": "x" * 21, "payload": "C:list:"}]
    template = {
        "attachment": {"type": "template", "payload": {"template_type": "button", "text": "?", "buttons": buttons}}
    }
    assert code(send(fake, template)) == (100, None)
    assert code(send(fake, token="EAAwrong")) == (190, None)
    assert code(send(fake, token="")) == (190, None)
    fake.wrote(PSID, at=time.time() - 25 * 3600)
    assert code(send(fake)) == (10, 2018278)
    fake.wrote(PSID)
    fake.block(PSID)
    assert code(send(fake)) == (551, 1545041)
    fake.rate_limited = True
    assert code(send(fake)) == (613, None)
    raw = httpx.post(f"{fake.base_url}/me/messages", params={"access_token": DEFAULT_TOKEN}, content=b"{not json")
    assert raw.status_code == 400
    assert fake.sent() == []


def test_the_persistent_menu_needs_short_titles_a_default_locale_and_get_started(fake):
    def profile(body: dict) -> dict:
        url = f"{fake.base_url}/me/messenger_profile"
        return httpx.post(url, params={"access_token": DEFAULT_TOKEN}, json=body).json()

    def menu(title: str, locale: str = "default") -> list:
        return [{"locale": locale, "call_to_actions": [{"type": "postback", "title": title, "payload": "help"}]}]

    assert code(profile({"persistent_menu": menu("Допомога")})) == (100, 2018145)  # no Get Started yet
    assert code(profile({"get_started": {"payload": "start"}, "persistent_menu": menu("x" * 31)})) == (100, None)
    assert code(profile({"get_started": {"payload": "start"}, "persistent_menu": menu("x", "en_US")})) == (100, 2018144)
    assert profile({"get_started": {"payload": "start"}, "persistent_menu": menu("x" * 30)}) == {"result": "success"}
    assert fake.profile["persistent_menu"][0]["call_to_actions"][0]["title"] == "x" * 30
