"""A fake Viber REST Bot API server for tests, and Viber's callbacks to post to the portal.

The bot calls ``<VIBER_API_BASE>/<method>``; tests point that base at ``FakeViber.base_url``,
so our httpx client and everything behind it run unchanged and only the far end is fake. Like
Viber, it answers HTTP 200 with a ``status`` and refuses what Viber refuses: a wrong or missing
token (2 invalidAuthToken), a body that is not JSON (3 badData), missing fields (4
missingData), a receiver Viber does not know (5 receiverNotRegistered) or who has not
subscribed (6 receiverNotSubscribed), a sender name over 28 characters, a text over 7,000, a
keyboard over 24 buttons, a button without Text or ActionBody or with an ActionType this fake
does not simulate (only `reply`; Viber also has open-url, location-picker, share-phone, none),
a webhook URL that is not https.

``set_webhook`` does what Viber does: it posts a signed ``webhook`` callback to the URL before
answering, and refuses the URL (1 invalidUrl) unless that answers 200. Real Viber takes only
https URLs with a trusted certificate; a test serving the portal over plain HTTP on 127.0.0.1
makes the fake with ``local_http_webhooks=True``, which lets http://127.0.0.1 URLs through and
nothing else.

The callbacks (``message_callback`` and the others) have the shapes of Viber's documentation
("Callbacks"); ``deliver`` signs one with the token and posts it to /viber/webhook/ through
Django's test client, updating what the fake knows (a user who writes is subscribed, one who
unsubscribes is not), and checks the welcome a ``conversation_started`` is answered with as
strictly as a send_message.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from botbridge.tests.served import ServedInThread

DEFAULT_TOKEN = "4453b6ac12345678-e02c5f12174805f9-daec9cbb5448c51f"
CHAT_HOSTNAME = "SN-CHAT-01_"

# Viber's limits (REST Bot API: send_message, keyboards).
MAX_TEXT_LENGTH = 7000
MAX_SENDER_NAME = 28
MAX_BUTTONS = 24
MAX_BUTTON_TEXT = 250
ACTION_TYPES = frozenset({"reply"})
SILENT_MIN_API_VERSION = 4  # `Silent` is a keyboard feature of API level 4
FILTERABLE_EVENTS = ("delivered", "seen", "failed", "subscribed", "unsubscribed", "conversation_started")
ALWAYS_SENT = ("message", "webhook")
KEYBOARD_KEYS = frozenset({"Type", "Buttons", "DefaultHeight", "BgColor", "InputFieldState"})
BUTTON_KEYS = frozenset(
    {"ActionType", "ActionBody", "Text", "Columns", "Rows", "Silent", "BgColor", "TextSize", "TextHAlign", "TextVAlign"}
)
STATUS_MESSAGES = {
    0: "ok",
    1: "invalidUrl",
    2: "invalidAuthToken",
    3: "badData",
    4: "missingData",
    5: "receiverNotRegistered",
    6: "receiverNotSubscribed",
    12: "tooManyRequests",
}
WELCOME = "welcome"  # the method name under which the answer to conversation_started is recorded


@dataclass
class Call:
    """One request the bot made (or one welcome it answered with), as the fake judged it."""

    method: str
    params: dict
    status: int  # Viber's status, 0 = ok
    response: dict
    http_status: int = 200
    at: float = field(default_factory=time.monotonic)


class Refusal(Exception):
    def __init__(self, status: int, message: str | None = None, *, http_status: int = 200) -> None:
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "generalError")
        self.http_status = http_status
        super().__init__(self.message)

    def body(self) -> dict:
        return {"status": self.status, "status_message": self.message}


def sign(body: bytes, token: str = DEFAULT_TOKEN) -> str:
    return hmac.new(token.encode(), body, hashlib.sha256).hexdigest()


# --- Checks of what the bot sends --------------------------------------------------------------


def check_message(params: dict, *, receiver: bool) -> None:
    """A send_message body (or, without `receiver`, the answer to conversation_started)."""
    if receiver and "receiver" not in params:
        raise Refusal(4, "missingData: receiver")
    sender = params.get("sender")
    if not isinstance(sender, dict) or "name" not in sender:
        raise Refusal(4, "missingData: sender.name")
    if not isinstance(sender["name"], str) or not 1 <= len(sender["name"]) <= MAX_SENDER_NAME:
        raise Refusal(3, f"badData: sender.name must be 1 to {MAX_SENDER_NAME} characters")
    if params.get("type") != "text":
        raise Refusal(3, f"badData: type {params.get('type')!r} (this fake simulates text messages)")
    text = params.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Refusal(4, "missingData: text")
    if len(text) > MAX_TEXT_LENGTH:
        raise Refusal(3, f"badData: text longer than {MAX_TEXT_LENGTH}")
    level = params.get("min_api_version", 1)
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise Refusal(3, "badData: min_api_version")
    if "keyboard" in params:
        check_keyboard(params["keyboard"], level)


def check_keyboard(keyboard: object, level: int) -> None:
    if not isinstance(keyboard, dict) or keyboard.get("Type") != "keyboard":
        raise Refusal(3, "badData: keyboard.Type must be keyboard")
    if set(keyboard) - KEYBOARD_KEYS:
        raise Refusal(3, f"badData: keyboard {sorted(set(keyboard) - KEYBOARD_KEYS)}")
    buttons = keyboard.get("Buttons")
    if not isinstance(buttons, list) or not buttons:
        raise Refusal(4, "missingData: keyboard.Buttons")
    if len(buttons) > MAX_BUTTONS:
        raise Refusal(3, f"badData: {len(buttons)} buttons, at most {MAX_BUTTONS}")
    for button in buttons:
        check_button(button, level)


def check_button(button: object, level: int) -> None:
    if not isinstance(button, dict) or set(button) - BUTTON_KEYS:
        raise Refusal(3, f"badData: button {button!r}")
    if button.get("ActionType", "reply") not in ACTION_TYPES:
        raise Refusal(3, f"badData: ActionType {button.get('ActionType')!r}")
    for key in ("Text", "ActionBody"):
        if not isinstance(button.get(key), str) or not button[key].strip():
            raise Refusal(4, f"missingData: button {key}")
    if len(button["Text"]) > MAX_BUTTON_TEXT:
        raise Refusal(3, f"badData: button Text longer than {MAX_BUTTON_TEXT}")
    for key, high in (("Columns", 6), ("Rows", 2)):
        value = button.get(key, 1)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise Refusal(3, f"badData: button {key} {value!r}")
    if "Silent" in button and (not isinstance(button["Silent"], bool) or level < SILENT_MIN_API_VERSION):
        raise Refusal(3, f"badData: Silent needs min_api_version {SILENT_MIN_API_VERSION}")


# --- Viber's callbacks, as its documentation shows them -----------------------------------------

_tokens = itertools.count(5_000_000_000_000_000_001)


def _base(event: str, token: int | None = None) -> dict:
    return {
        "event": event,
        "timestamp": int(time.time() * 1000),
        "chat_hostname": CHAT_HOSTNAME,
        "message_token": next(_tokens) if token is None else token,
    }


def user(user_id: str, *, name: str = "Марія", language: str = "uk") -> dict:
    return {
        "id": user_id,
        "name": name,
        "avatar": "https://media-direct.cdn.viber.com/download_photo?dlid=abc",
        "country": "UA",
        "language": language,
        "api_version": 10,
    }


def message_callback(user_id: str, text: str = "", *, kind: str = "text", token: int | None = None, **who) -> dict:
    message: dict = {"type": kind}
    if kind == "text":
        message["text"] = text
    else:
        message.update(MEDIA[kind])
    return {**_base("message", token), "sender": user(user_id, **who), "message": message, "silent": False}


MEDIA = {
    "picture": {
        "text": "",
        "media": "https://dl-media.viber.com/5/media/2/short/any/sig/image/0x0/a.jpg",
        "thumbnail": "https://dl-media.viber.com/5/media/2/short/any/sig/image/0x0/t.jpg",
        "file_name": "a.jpg",
        "size": 120000,
    },
    "sticker": {"sticker_id": 46105, "media": "https://viber-sticker.cdn/46105.png"},
    "video": {
        "media": "https://dl-media.viber.com/video.mp4",
        "thumbnail": "https://dl-media.viber.com/t.jpg",
        "size": 10000,
        "duration": 10,
    },
    "file": {"media": "https://dl-media.viber.com/doc.pdf", "size": 10000, "file_name": "doc.pdf"},
    "location": {"location": {"lat": 47.8388, "lon": 35.1396}},
    "contact": {"contact": {"name": "Петро", "phone_number": "+380501234567"}},
    "url": {"media": "https://www.zoe.com.ua/"},
    "rich_media": {
        "rich_media": {"Type": "rich_media", "ButtonsGroupColumns": 6, "ButtonsGroupRows": 1, "Buttons": []}
    },
}


def conversation_started(user_id: str, *, subscribed: bool = False, token: int | None = None, **who) -> dict:
    return {
        **_base("conversation_started", token),
        "type": "open",
        "user": user(user_id, **who),
        "subscribed": subscribed,
    }


def subscribed(user_id: str, **who) -> dict:
    return {**_base("subscribed"), "user": user(user_id, **who)}


def unsubscribed(user_id: str) -> dict:
    return {**_base("unsubscribed"), "user_id": user_id}


def receipt(event: str, user_id: str, token: int = 4912661846655238145) -> dict:
    """delivered, seen or failed, of a message the bot sent."""
    body = {**_base(event, token), "user_id": user_id}
    if event == "failed":
        body["desc"] = "failure description"
    return body


def webhook_check() -> dict:
    return _base("webhook")


class FakeViber(ServedInThread):
    """A Viber REST Bot API on 127.0.0.1 that records every call and answers like Viber."""

    name = "fake-viber"
    base_path = "/pa"

    def __init__(self, token: str = DEFAULT_TOKEN, *, local_http_webhooks: bool = False) -> None:
        self.token = token
        self.local_http_webhooks = local_http_webhooks
        self.webhook = ""
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._users: dict[str, bool] = {}  # user id: subscribed
        self._failures: dict[str, list[Refusal]] = {}
        self._tokens = itertools.count(5_500_000_000_000_000_001)

    # --- Lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/pa/{method}", self._handle)

    # --- What the bot did

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def messages(self, user_id: str | None = None) -> list[Call]:
        """What the user got: accepted send_message calls and welcomes, in order."""
        return [
            call
            for call in self.calls
            if call.status == 0
            and call.method in ("send_message", WELCOME)
            and (user_id is None or call.params.get("receiver", user_id) == user_id)
        ]

    def texts(self, user_id: str | None = None) -> list[str]:
        return [call.params["text"] for call in self.messages(user_id)]

    @staticmethod
    def buttons(call: Call) -> list[dict]:
        return list((call.params.get("keyboard") or {}).get("Buttons") or [])

    @classmethod
    def button_texts(cls, call: Call) -> list[str]:
        return [button["Text"] for button in cls.buttons(call)]

    # --- What the test sets up

    def add_user(self, user_id: str, *, subscribed: bool = True) -> None:
        with self._lock:
            self._users[user_id] = subscribed

    def unsubscribe(self, user_id: str) -> None:
        with self._lock:
            self._users[user_id] = False

    def fail_next(
        self, method: str, status: int, message: str | None = None, *, http_status: int = 200, times: int = 1
    ) -> None:
        """The next `times` calls of `method` answer this (status 12 = too many requests; http_status 503 = down)."""
        with self._lock:
            self._failures.setdefault(method, []).extend(
                Refusal(status, message, http_status=http_status) for _ in range(times)
            )

    # --- Callbacks to the portal

    def deliver(self, client, callback: dict, *, signature: str | None = None):
        """Post a callback to /viber/webhook/ as Viber does: signed, and what it tells Viber remembered."""
        body = json.dumps(callback, ensure_ascii=False).encode()
        self._remember(callback)
        response = client.post(
            "/viber/webhook/",
            data=body,
            content_type="application/json",
            headers={"X-Viber-Content-Signature": sign(body, self.token) if signature is None else signature},
        )
        if callback.get("event") == "conversation_started" and response.status_code == 200 and response.content:
            self._record_welcome(callback["user"]["id"], json.loads(response.content))
        return response

    def _remember(self, callback: dict) -> None:
        event = callback.get("event")
        with self._lock:
            if event == "message":
                self._users[callback["sender"]["id"]] = True  # writing to a bot subscribes to it
            elif event == "subscribed":
                self._users[callback["user"]["id"]] = True
            elif event == "unsubscribed":
                self._users[callback["user_id"]] = False
            elif event == "conversation_started":
                self._users.setdefault(callback["user"]["id"], bool(callback.get("subscribed")))

    def _record_welcome(self, user_id: str, params: dict) -> None:
        try:
            check_message(params, receiver=False)
            status, response = 0, {"status": 0, "status_message": "ok"}
        except Refusal as refusal:
            status, response = refusal.status, refusal.body()
        with self._lock:
            self._calls.append(Call(WELCOME, {**params, "receiver": user_id}, status, response))

    # --- HTTP

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        raw = await request.read()
        params: dict = {}
        try:
            if request.method != "POST":
                raise Refusal(3, "badData: POST only", http_status=405)
            if request.headers.get("X-Viber-Auth-Token") != self.token:
                raise Refusal(2)
            try:
                params = json.loads(raw)
            except ValueError:
                raise Refusal(3, "badData: not JSON") from None
            if not isinstance(params, dict):
                raise Refusal(3, "badData: not a JSON object")
            with self._lock:
                queue = self._failures.get(method)
                if queue:
                    raise queue.pop(0)
            response = await self._run(method, params)
            status = 0
        except Refusal as refusal:
            status, response = refusal.status, refusal.body()
            http_status = refusal.http_status
        else:
            http_status = 200
        with self._lock:
            self._calls.append(Call(method, params, status, response, http_status))
        if http_status >= 500:
            return web.Response(status=http_status, text="Service Unavailable")
        return web.json_response(response, status=http_status, dumps=lambda data: json.dumps(data, ensure_ascii=False))

    async def _run(self, method: str, params: dict) -> dict:
        if method == "send_message":
            return self._send_message(params)
        if method == "set_webhook":
            return await self._set_webhook(params)
        if method == "get_account_info":
            return {"status": 0, "status_message": "ok", "name": "Показник (test)", "webhook": self.webhook}
        raise Refusal(3, f"badData: FakeViber does not simulate {method}", http_status=404)

    def _send_message(self, params: dict) -> dict:
        check_message(params, receiver=True)
        receiver = params["receiver"]
        with self._lock:
            if not isinstance(receiver, str) or receiver not in self._users:
                raise Refusal(5)
            if not self._users[receiver]:
                raise Refusal(6)
        return {
            "status": 0,
            "status_message": "ok",
            "message_token": next(self._tokens),
            "chat_hostname": CHAT_HOSTNAME,
        }

    async def _set_webhook(self, params: dict) -> dict:
        url = params.get("url")
        if not isinstance(url, str) or not url:
            raise Refusal(4, "missingData: url")
        parts = urlsplit(url)
        local_http = self.local_http_webhooks and parts.scheme == "http" and parts.hostname == "127.0.0.1"
        if parts.scheme != "https" and not local_http:
            raise Refusal(1, "invalidUrl: the webhook must be https")
        events = params.get("event_types", list(FILTERABLE_EVENTS))
        if not isinstance(events, list) or not set(events) <= set(FILTERABLE_EVENTS):
            raise Refusal(3, f"badData: event_types {events!r}")
        if not isinstance(params.get("send_name", False), bool):
            raise Refusal(3, "badData: send_name")
        body = json.dumps(webhook_check()).encode()
        headers = {"X-Viber-Content-Signature": sign(body, self.token), "Content-Type": "application/json"}
        try:
            async with (
                aiohttp.ClientSession() as session,
                session.post(url, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=10)) as answer,
            ):
                code = answer.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise Refusal(1, f"invalidUrl: {type(error).__name__}") from None
        if code != 200:
            raise Refusal(1, f"invalidUrl: Result[HttpResponse({code})]")
        self.webhook = url
        return {"status": 0, "status_message": "ok", "event_types": [*ALWAYS_SENT, *events]}
