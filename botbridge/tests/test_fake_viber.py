"""The fake Viber refuses what Viber refuses: a fake that answers "ok" to anything would hide
the bugs the Viber tests are there to find."""

import httpx
import pytest

from botbridge.tests.fake_viber import DEFAULT_TOKEN, FakeViber

USER = "K917PBuvPZmhKfb8Vw3b2Q=="


def button(**changes) -> dict:
    return {"ActionType": "reply", "ActionBody": "Допомога", "Text": "Допомога", "Columns": 6, "Rows": 1, **changes}


def message(**changes) -> dict:
    return {"receiver": USER, "sender": {"name": "Показник"}, "type": "text", "text": "Вітаю", **changes}


@pytest.fixture
def fake():
    with FakeViber() as fake:
        fake.add_user(USER)
        yield fake


def post(fake: FakeViber, method: str, payload: object = None, *, token: str | None = DEFAULT_TOKEN, raw=None) -> dict:
    headers = {"X-Viber-Auth-Token": token} if token is not None else {}
    answer = httpx.post(f"{fake.base_url}/{method}", json=payload, content=raw, headers=headers, timeout=5)
    assert answer.status_code == 200
    return answer.json()


def test_a_valid_message_is_accepted_and_recorded(fake):
    answer = post(fake, "send_message", message(keyboard={"Type": "keyboard", "Buttons": [button()]}))
    assert answer["status"] == 0 and isinstance(answer["message_token"], int)
    assert fake.texts(USER) == ["Вітаю"] and fake.button_texts(fake.messages()[0]) == ["Допомога"]


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        (message(receiver="nobody=="), 5),
        (message(text="x" * 7001), 3),
        (message(text=""), 4),
        (message(sender={"name": "П" * 29}), 3),
        (message(sender=None), 4),
        (message(type="picture"), 3),
        ({k: v for k, v in message().items() if k != "receiver"}, 4),
        (message(keyboard={"Type": "keyboard", "Buttons": [button()] * 25}), 3),
        (message(keyboard={"Buttons": [button()]}), 3),
        (message(keyboard={"Type": "keyboard", "Buttons": []}), 4),
        (message(keyboard={"Type": "keyboard", "Buttons": [button(Text="")]}), 4),
        (message(keyboard={"Type": "keyboard", "Buttons": [button(ActionBody=" ")]}), 4),
        (message(keyboard={"Type": "keyboard", "Buttons": [button(ActionType="open-url")]}), 3),
        (message(keyboard={"Type": "keyboard", "Buttons": [button(Columns=7)]}), 3),
        (message(keyboard={"Type": "keyboard", "Buttons": [button(Silent=True)]}), 3),
    ],
    ids=lambda value: str(value)[:40] if not isinstance(value, int) else str(value),
)
def test_what_viber_refuses_is_refused(fake, payload, status):
    assert post(fake, "send_message", payload)["status"] == status
    assert fake.messages() == []


def test_silent_buttons_need_api_level_4(fake):
    keyboard = {"Type": "keyboard", "Buttons": [button(Silent=True)]}
    assert post(fake, "send_message", message(keyboard=keyboard, min_api_version=4))["status"] == 0


def test_a_wrong_token_and_a_body_that_is_not_json_are_refused(fake):
    assert post(fake, "send_message", message(), token="wrong")["status_message"] == "invalidAuthToken"
    assert post(fake, "send_message", message(), token=None)["status"] == 2
    assert post(fake, "send_message", raw=b"{not json")["status"] == 3


def test_an_unsubscribed_user_cannot_be_written_to(fake):
    fake.unsubscribe(USER)
    assert post(fake, "send_message", message()) == {"status": 6, "status_message": "receiverNotSubscribed"}


def test_queued_failures_come_first(fake):
    fake.fail_next("send_message", 12)
    assert post(fake, "send_message", message())["status_message"] == "tooManyRequests"
    assert post(fake, "send_message", message())["status"] == 0


def test_set_webhook_wants_https_and_an_answer(fake):
    assert post(fake, "set_webhook", {"url": "http://127.0.0.1:9/viber/webhook/"})["status"] == 1
    assert post(fake, "set_webhook", {"url": "https://127.0.0.1:9/viber/webhook/"})["status"] == 1  # nobody answers
    assert post(fake, "set_webhook", {})["status"] == 4
    assert fake.webhook == ""


def test_local_http_webhooks_are_for_127_0_0_1_only():
    with FakeViber(local_http_webhooks=True) as fake:
        assert post(fake, "set_webhook", {"url": "http://portal.example/viber/webhook/"})["status"] == 1
