"""A fake Graph API (the Messenger Platform's Send and Messenger Profile APIs) for tests, and
Messenger's webhook POSTs as Meta sends them.

The bot calls `<MESSENGER_API_BASE>/me/<edge>?access_token=…`; tests point the base at
`FakeGraphAPI.base_url`, so our own httpx client runs unchanged and only the far end is fake.
It refuses what Messenger refuses (https://developers.facebook.com/docs/messenger-platform):
a wrong or missing token (190), a recipient who never wrote to the Page (100/2018001), one
who blocked it (551/1545041), a message outside the 24-hour window without a utility
template (10/2018278), a missing messaging_type, texts over 2,000 characters, more than 13
quick replies, titles over 20 (quick replies, buttons) or 30 (persistent menu) characters,
a body that is not JSON; and it can play its rate limit (613).

It serves from a background thread with its own event loop (aiohttp), like fake_bot_api.

The webhook side (`message`, `postback`, `delivery`, … and `body`, `signed_post`) builds the
JSON of https://developers.facebook.com/docs/messenger-platform/webhooks: `object: page`,
`entry` items with `messaging` events, each with `sender`, `recipient`, `timestamp`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from dataclasses import dataclass, field

from aiohttp import web

from botbridge.tests.served import ServedInThread

DEFAULT_TOKEN = "EAATESTpageAccessToken0123456789abcdef"
APP_SECRET = "test-app-secret-0123456789abcdef"
VERIFY_TOKEN = "test-verify-token-42"
PAGE_ID = "109876543210987"
VERSION = "v21.0"

MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MAX_TITLE = 20
MAX_MENU_TITLE = 30
MAX_PAYLOAD = 1000
MAX_BUTTONS = 3
MAX_TEMPLATE_TEXT = 640
MAX_GREETING = 160
MAX_MENU_ITEMS = 20
WINDOW_SECONDS = 24 * 3600
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG", "UTILITY")
MESSAGE_TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT")


@dataclass
class Call:
    """One request the bot made, as the fake understood and answered it."""

    edge: str
    body: dict
    status: int
    response: dict

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Person:
    wrote_at: float | None = None  # when they last wrote (or tapped a button), seconds
    blocked: bool = False


class GraphError(Exception):
    def __init__(self, code: int, message: str, subcode: int | None = None, error_type: str = "OAuthException"):
        super().__init__(message)
        self.code, self.subcode, self.message, self.error_type = code, subcode, message, error_type

    def body(self) -> dict:
        error = {"message": self.message, "type": self.error_type, "code": self.code, "fbtrace_id": "AbCdEfG123"}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        return {"error": error}


def _invalid(message: str, subcode: int | None = None) -> GraphError:
    return GraphError(100, f"(#100) {message}", subcode)


@dataclass
class FakeGraphAPI(ServedInThread):
    """A Graph API (Messenger's Send and Messenger Profile APIs) on 127.0.0.1 that records every
    call and refuses what Messenger refuses."""

    name = "fake-graph"
    base_path = f"/{VERSION}"
    token: str = DEFAULT_TOKEN
    templates: set[str] = field(default_factory=lambda: {"reading_reminder"})  # approved utility templates
    rate_limited: bool = False
    server_errors: int = 0  # the next this many calls answer 500

    def __post_init__(self) -> None:
        self.profile: dict = {}
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._people: dict[str, Person] = {}
        self._mids = itertools.count(1)

    # --- Lifecycle

    def routes(self, app: web.Application) -> None:
        app.router.add_route("*", "/{path:.*}", self._handle)

    # --- The world: people and what they did

    def wrote(self, psid: str, at: float | None = None) -> None:
        """The person wrote to the Page (every webhook event built here says so)."""
        with self._lock:
            self._people.setdefault(psid, Person()).wrote_at = time.time() if at is None else at

    def block(self, psid: str, *, blocked: bool = True) -> None:
        """The person blocks the Page (or, blocked=False, unblocks it)."""
        with self._lock:
            self._people.setdefault(psid, Person()).blocked = blocked

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def sent(self, psid: str | None = None) -> list[Call]:
        """Messages Messenger accepted, to `psid` or to anyone."""
        return [
            call
            for call in self.calls
            if call.edge == "messages" and call.ok and (psid is None or call.body["recipient"]["id"] == psid)
        ]

    def refused(self) -> list[Call]:
        return [call for call in self.calls if not call.ok]

    # --- The API

    async def _handle(self, request: web.Request) -> web.Response:
        edge = request.path.removeprefix(f"/{VERSION}/me/")
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        try:
            result = self._answer(request, edge, body)
            status = 200
        except GraphError as error:
            result, status = error.body(), 500 if error.code == 2 else 400
        with self._lock:
            self._calls.append(Call(edge, body if isinstance(body, dict) else {"raw": raw[:200]}, status, result))
        return web.json_response(result, status=status)

    def _answer(self, request: web.Request, edge: str, body: object) -> dict:
        if request.method != "POST" or not request.path.startswith(f"/{VERSION}/me/"):
            raise GraphError(100, "Unknown path components", error_type="GraphMethodException")
        if request.query.get("access_token") != self.token:
            raise GraphError(190, "Invalid OAuth access token - Cannot parse access token")
        if self.server_errors:
            self.server_errors -= 1
            raise GraphError(2, "An unexpected error has occurred. Please retry your request later.")
        if self.rate_limited:
            raise GraphError(613, "(#613) Calls to this API have exceeded the rate limit.")
        if not isinstance(body, dict):
            raise _invalid("The parameter body must be a JSON object")
        if edge == "messages":
            return self._send(body)
        if edge == "messenger_profile":
            return self._set_profile(body)
        raise GraphError(100, f"Unknown path components: /{edge}", error_type="GraphMethodException")

    def _send(self, body: dict) -> dict:
        psid = (body.get("recipient") or {}).get("id") if isinstance(body.get("recipient"), dict) else None
        if not isinstance(psid, str) or not psid:
            raise _invalid("The parameter recipient is required")
        messaging_type = body.get("messaging_type")
        if messaging_type not in MESSAGING_TYPES:
            raise _invalid(f"param messaging_type must be one of {{{', '.join(MESSAGING_TYPES)}}}")
        message = body.get("message")
        if not isinstance(message, dict):
            raise _invalid("param message must be non-empty.")
        with self._lock:
            person = self._people.get(psid)
        if person is None:
            raise _invalid("No matching user found", 2018001)
        if person.blocked:
            raise GraphError(551, "This person isn't available right now.", 1545041)
        utility = message_check(message, self.templates)
        if messaging_type == "UTILITY" and not utility:
            raise _invalid("messaging_type UTILITY needs a utility template")
        if messaging_type == "MESSAGE_TAG" and body.get("tag") not in MESSAGE_TAGS:
            raise _invalid("param tag must be one of the message tags")
        outside = person.wrote_at is None or time.time() - person.wrote_at > WINDOW_SECONDS
        if outside and messaging_type in ("RESPONSE", "UPDATE"):
            raise GraphError(
                10, "(#10) This message is sent outside of allowed window.", 2018278, error_type="OAuthException"
            )
        return {"recipient_id": psid, "message_id": f"m_fake{next(self._mids)}"}

    def _set_profile(self, body: dict) -> dict:
        known = {"get_started", "greeting", "persistent_menu", "ice_breakers", "whitelisted_domains"}
        if not body or set(body) - known:
            raise _invalid(f"Invalid keys {sorted(set(body) - known)} in messenger_profile")
        started = body.get("get_started", self.profile.get("get_started"))
        if "get_started" in body:
            payload = (body["get_started"] or {}).get("payload") if isinstance(body["get_started"], dict) else None
            if not isinstance(payload, str) or not 0 < len(payload) <= MAX_PAYLOAD:
                raise _invalid("get_started.payload must be a string of 1 to 1000 characters")
        if "greeting" in body:
            _check_locales(body["greeting"], "greeting")
            for item in body["greeting"]:
                if not isinstance(item.get("text"), str) or not 0 < len(item["text"]) <= MAX_GREETING:
                    raise _invalid("greeting text must have 1 to 160 characters")
        if "persistent_menu" in body:
            if not started:
                raise _invalid("You must set a Get Started button if you also wish to use persistent menu.", 2018145)
            _check_locales(body["persistent_menu"], "persistent_menu")
            for menu in body["persistent_menu"]:
                _check_buttons(menu.get("call_to_actions"), MAX_MENU_ITEMS, MAX_MENU_TITLE)
        self.profile.update(body)
        return {"result": "success"}


def _check_locales(items: object, name: str) -> None:
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise _invalid(f"{name} must be an array of objects")
    locales = [item.get("locale") for item in items]
    if "default" not in locales:
        raise _invalid(f"{name} must have a default locale", 2018144)
    if len(set(locales)) != len(locales):
        raise _invalid(f"{name} has a locale twice")


def _check_buttons(buttons: object, most: int, longest: int) -> None:
    if not isinstance(buttons, list) or not 0 < len(buttons) <= most:
        raise _invalid(f"buttons must be 1 to {most}")
    for button in buttons:
        if not isinstance(button, dict) or button.get("type") != "postback":
            raise _invalid("only postback buttons are expected here")
        title, payload = button.get("title"), button.get("payload")
        if not isinstance(title, str) or not 0 < len(title) <= longest:
            raise _invalid(f"Title of a button must have 1 to {longest} characters: {title!r}")
        if not isinstance(payload, str) or not 0 < len(payload) <= MAX_PAYLOAD:
            raise _invalid("Payload of a button must have 1 to 1000 characters")


def message_check(message: dict, templates: set[str]) -> bool:
    """Refuse a message Messenger would refuse; True for a utility template message."""
    text, attachment = message.get("text"), message.get("attachment")
    if (text is None) == (attachment is None):
        raise _invalid("Exactly one of message.text and message.attachment must be set")
    if text is not None and (not isinstance(text, str) or not text.strip()):
        raise _invalid("param message[text] must be a non-empty UTF-8 encoded string")
    if isinstance(text, str) and len(text) > MAX_TEXT:
        raise _invalid("param message[text] must be UTF-8 encoded with a maximum of 2000 characters")
    replies = message.get("quick_replies")
    if replies is not None:
        if not isinstance(replies, list) or not 0 < len(replies) <= MAX_QUICK_REPLIES:
            raise _invalid("param message[quick_replies] must have 1 to 13 elements")
        for reply in replies:
            if not isinstance(reply, dict) or reply.get("content_type") != "text":
                raise _invalid("quick_replies[].content_type must be text")
            if not isinstance(reply.get("title"), str) or not 0 < len(reply["title"]) <= MAX_TITLE:
                raise _invalid(f"param title must be at most 20 characters: {reply.get('title')!r}")
            if not isinstance(reply.get("payload"), str) or not 0 < len(reply["payload"]) <= MAX_PAYLOAD:
                raise _invalid("param payload must be 1 to 1000 characters")
    if attachment is None:
        return False
    if not isinstance(attachment, dict) or attachment.get("type") != "template":
        raise _invalid("only template attachments are expected from this bot")
    payload = attachment.get("payload") if isinstance(attachment.get("payload"), dict) else {}
    if payload.get("template_type") == "button":
        template_text = payload.get("text")
        if not isinstance(template_text, str) or not 0 < len(template_text) <= MAX_TEMPLATE_TEXT:
            raise _invalid("Button template text must have 1 to 640 characters")
        _check_buttons(payload.get("buttons"), MAX_BUTTONS, MAX_TITLE)
        return False
    if payload.get("template_type") == "utility":
        if payload.get("name") not in templates:
            raise _invalid(f"Template name does not exist or is not approved: {payload.get('name')!r}", 2018331)
        if not isinstance(payload.get("language"), str) or not payload["language"]:
            raise _invalid("A utility template needs its language")
        components = payload.get("components")
        if not isinstance(components, list) or not components:
            raise _invalid("A utility template needs its components")
        for component in components:
            for parameter in component.get("parameters", []) if isinstance(component, dict) else [None]:
                if not isinstance(parameter, dict) or parameter.get("type") != "text" or not parameter.get("text"):
                    raise _invalid("Template parameters must be texts")
        return True
    raise _invalid(f"Unsupported template_type {payload.get('template_type')!r}")


# --- The webhook: events as Messenger delivers them --------------------------------------------

_mids = itertools.count(1)
_clock = itertools.count(1)


def _now_ms() -> int:
    # Distinct and increasing even within a millisecond, as Messenger's timestamps are per event.
    return int(time.time() * 1000) + next(_clock) % 1000


def _event(psid: str, **content) -> dict:
    return {"sender": {"id": psid}, "recipient": {"id": PAGE_ID}, "timestamp": _now_ms(), **content}


def mid() -> str:
    return f"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_{next(_mids)}"


def message(psid: str, text: str, *, quick_reply: str | None = None) -> dict:
    content: dict = {"mid": mid(), "text": text}
    if quick_reply is not None:
        content["quick_reply"] = {"payload": quick_reply}
    return _event(psid, message=content)


def postback(psid: str, payload: str, *, title: str = "", with_mid: bool = True) -> dict:
    content: dict = {"title": title or payload, "payload": payload}
    if with_mid:
        content = {"mid": mid(), **content}
    return _event(psid, postback=content)


def attachment(psid: str, kind: str) -> dict:
    """A picture, sticker (the thumbs-up: an image with a sticker_id), voice, video, file, location."""
    payloads = {
        "image": {"url": "https://scontent.xx.fbcdn.net/v/t1.15752-9/photo.jpg"},
        "sticker": {"url": "https://scontent.xx.fbcdn.net/v/t39.1997-6/like.png", "sticker_id": 369239263222822},
        "audio": {"url": "https://cdn.fbsbx.com/v/t59.3654-21/audioclip.mp4"},
        "video": {"url": "https://video.xx.fbcdn.net/v/t42.3356-2/video.mp4"},
        "file": {"url": "https://cdn.fbsbx.com/v/t59.2708-21/bill.pdf"},
        "location": {"coordinates": {"lat": 50.4501, "long": 30.5234}},
        "fallback": {"url": "https://example.com/shared", "title": "A shared link"},
    }
    item = {"type": "image" if kind == "sticker" else kind, "payload": payloads[kind]}
    content: dict = {"mid": mid(), "attachments": [item]}
    if kind == "sticker":
        content["sticker_id"] = payloads["sticker"]["sticker_id"]
    return _event(psid, message=content)


def edit(psid: str, text: str, *, of: str, number: int = 1) -> dict:
    """An edit of the message `of` (the `message_edits` field)."""
    return _event(psid, message_edit={"mid": of, "text": text, "num_edit": number})


def shared_link(psid: str, url: str) -> dict:
    """A link the person pasted: its text, and Messenger's `fallback` attachment for it."""
    attachment = {"type": "fallback", "payload": {"url": url, "title": "Показник"}}
    return _event(psid, message={"mid": mid(), "text": url, "attachments": [attachment]})


def echo(psid: str, text: str) -> dict:
    """The Page's own message, echoed: the Page is the sender."""
    content = {"is_echo": True, "app_id": 1517776481860111, "mid": mid(), "text": text}
    return {"sender": {"id": PAGE_ID}, "recipient": {"id": psid}, "timestamp": _now_ms(), "message": content}


def delivery(psid: str) -> dict:
    return _event(psid, delivery={"mids": [mid()], "watermark": _now_ms()})


def read(psid: str) -> dict:
    return _event(psid, read={"watermark": _now_ms()})


def reaction(psid: str) -> dict:
    return _event(psid, reaction={"reaction": "love", "emoji": "\u2764\ufe0f", "action": "react", "mid": mid()})


def body(*entries: list[dict]) -> dict:
    """A webhook POST: one entry per list of messaging events."""
    return {
        "object": "page",
        "entry": [{"id": PAGE_ID, "time": _now_ms(), "messaging": events} for events in entries],
    }


def signature(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def signed_post(client, data: dict | bytes, *, fake: FakeGraphAPI | None = None, sign: str | None = None):
    """POST to /messenger/webhook/ as Meta does: the raw body signed with the app secret.
    With `fake`, every sender of a message or postback is first known to it as having written."""
    raw = data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()
    if fake is not None and isinstance(data, dict):
        for entry in data.get("entry", []):
            for event in entry.get("messaging", []):
                if ("message" in event and not event["message"].get("is_echo")) or {"postback", "message_edit"} & set(
                    event
                ):
                    fake.wrote(event["sender"]["id"])
    headers = {} if sign == "" else {"X-Hub-Signature-256": sign or signature(raw)}
    return client.post("/messenger/webhook/", data=raw, content_type="application/json", headers=headers)
