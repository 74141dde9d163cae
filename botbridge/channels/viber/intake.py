"""A webhook body read as a Viber callback: what Viber never sends is refused (400), an event
this adapter does not know is ignored (200, so Viber does not resend it), before anything runs.

The shapes are those of Viber's REST Bot API "Callbacks": every callback has `event`,
`timestamp` and (but for `webhook`) a `message_token`; `message` names its `sender` and holds a
`message` object; `conversation_started` and `subscribed` name a `user`; the rest a `user_id`.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass

# Events that carry a resident's turn in the conversation, those that say whether the
# resident can be written to, and those that only report on sent messages.
CONVERSATION = ("message", "conversation_started")
REACHABILITY = ("subscribed", "unsubscribed")
RECEIPTS = ("delivered", "seen", "failed")
KNOWN = ("webhook", *CONVERSATION, *REACHABILITY, *RECEIPTS)

MAX_ID_LENGTH = 64  # ChannelIdentity.external_id; Viber's ids are 24 characters of base64
NUL, REPLACEMENT = "\x00", "\ufffd"  # PostgreSQL refuses NUL in text


class NotACallback(ValueError):
    """The body is not a Viber callback; the webhook answers 400."""


@dataclass(frozen=True)
class Callback:
    event: str
    token: str = ""  # the message_token, as text
    user_id: str = ""
    name: str = ""
    language: str | None = None
    message_type: str = ""  # text, picture, sticker, location, contact, ... (message only)
    text: str = ""
    subscribed: bool = False  # conversation_started: whether the user may be written to
    description: str = ""  # failed: Viber's reason


def signature_valid(body: bytes, signature: str, token: str) -> bool:
    """X-Viber-Content-Signature: the hex HMAC-SHA256 of the raw body, keyed with the auth token."""
    expected = hmac.new(token.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(signature.strip().lower().encode(), expected.encode())


def callback_parse(body: bytes) -> Callback:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise NotACallback(f"not JSON: {error}") from None
    if not isinstance(data, dict):
        raise NotACallback("not a JSON object")
    event = data.get("event")
    if not isinstance(event, str):
        raise NotACallback("no event")
    if event not in KNOWN:
        return Callback(event=event[:64])
    token = "" if event == "webhook" else _token(data)
    if event == "message":
        return _message(data, token)
    if event in ("conversation_started", "subscribed"):
        user = _object(data, "user")
        return Callback(
            event=event,
            token=token,
            user_id=_id(user, "id"),
            name=_text(user, "name"),
            language=_text(user, "language") or None,
            subscribed=data.get("subscribed") is True or event == "subscribed",
        )
    if event == "webhook":
        return Callback(event=event)
    # unsubscribed, delivered, seen, failed
    return Callback(event=event, token=token, user_id=_id(data, "user_id"), description=_text(data, "desc"))


def _message(data: dict, token: str) -> Callback:
    sender, message = _object(data, "sender"), _object(data, "message")
    message_type = message.get("type")
    if not isinstance(message_type, str) or not message_type:
        raise NotACallback("message.type: missing")
    text = _text(message, "text") if message_type == "text" else ""
    return Callback(
        event="message",
        token=token,
        user_id=_id(sender, "id"),
        name=_text(sender, "name"),
        language=_text(sender, "language") or None,
        message_type=message_type[:32],
        text=text,
    )


def _token(data: dict) -> str:
    token = data.get("message_token")
    if isinstance(token, bool) or not isinstance(token, int | str) or not str(token).strip():
        raise NotACallback("message_token: missing or not a number")
    return str(token)[:100]


def _object(data: dict, key: str) -> dict:
    value = data.get(key)
    if not isinstance(value, dict):
        raise NotACallback(f"{key}: missing or not an object")
    return value


def _id(data: dict, key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_LENGTH or NUL in value:
        raise NotACallback(f"{key}: missing, empty, longer than {MAX_ID_LENGTH} or not text")
    return value


def _text(data: dict, key: str) -> str:
    value = data.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise NotACallback(f"{key}: not text")
    return value.replace(NUL, REPLACEMENT)
