"""Messenger's webhook POSTs read into the engine's events; the payloads our buttons carry.

A POST (https://developers.facebook.com/docs/messenger-platform/webhooks) is
`{"object": "page", "entry": [{"id", "time", "messaging": [event, …]}, …]}`; each event has
`sender.id` (the person's Page-scoped id), `recipient.id`, `timestamp` and one of `message`,
`postback`, `message_edit`, `delivery`, `read`, `reaction`, … Messages and postbacks are the
resident's words, and an edit is answered as Telegram answers one; echoes of the Page's own
messages, deliveries, reads and reactions say nothing to answer.
"""

import json
import re
from dataclasses import dataclass

from botbridge.conversation import COMMANDS, Choice, Command, Event, Text, Unreadable

MAX_KEY_LENGTH = 200
PSID = re.compile(r"\d{1,64}")
# What our quick replies and buttons carry: a menu label, or an option's action and argument.
LABEL, OPTION = "L:", "C:"


class NotAWebhook(ValueError):
    """The body is not a Messenger webhook POST of a Page."""


class BadEvent(ValueError):
    """One event of a POST is not shaped as Messenger sends them; the others are still read."""


@dataclass(frozen=True)
class Incoming:
    """A resident's event: its key for at-most-once, who sent it, and what it says."""

    key: str
    sender: str
    event: Event


def entries_parse(body: bytes) -> list[dict]:
    """The `messaging` events of every entry, in order; NotAWebhook for anything else."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:  # RecursionError: arrays nested thousands deep
        raise NotAWebhook(f"not JSON: {error}") from None
    if not isinstance(data, dict) or data.get("object") != "page":
        raise NotAWebhook("not a Page webhook (object must be 'page')")
    entries = data.get("entry")
    if not isinstance(entries, list):
        raise NotAWebhook("no entry list")
    events = []
    for entry in entries:
        messaging = entry.get("messaging") if isinstance(entry, dict) else None
        if isinstance(messaging, list):
            events += messaging
    return events


def incoming(raw: object) -> Incoming | None:
    """The resident's event in one `messaging` item; None for what is not answered (echoes,
    deliveries, reads, reactions, …); BadEvent for a malformed one."""
    if not isinstance(raw, dict):
        raise BadEvent("an event is not an object")
    message, postback, edit = raw.get("message"), raw.get("postback"), raw.get("message_edit")
    if isinstance(message, dict) and message.get("is_echo"):
        return None  # the Page's own message, echoed back
    if not any(isinstance(part, dict) for part in (message, postback, edit)):
        return None
    sender = (raw.get("sender") or {}).get("id") if isinstance(raw.get("sender"), dict) else None
    if not isinstance(sender, str) or not PSID.fullmatch(sender):
        raise BadEvent(f"sender.id is not a Page-scoped id: {str(sender)[:80]!r}")
    if isinstance(message, dict):
        return Incoming(key=_key(message.get("mid"), sender, raw, "message"), sender=sender, event=_read(message))
    if isinstance(postback, dict):
        return Incoming(
            key=_key(postback.get("mid"), sender, raw, "postback"), sender=sender, event=postback_event(postback)
        )
    # An edit of an earlier message is never read (as in Telegram); each edit is its own event.
    number = edit.get("num_edit")
    number = number if isinstance(number, int) and not isinstance(number, bool) else 0
    return Incoming(
        key=f"{_key(edit.get('mid'), sender, raw, 'edit')}:edit:{number}", sender=sender, event=Unreadable(edited=True)
    )


def _key(mid: object, sender: str, raw: dict, kind: str) -> str:
    """The event's message id; where Messenger sends none (older postbacks), sender, time and kind."""
    if mid is not None:
        if not isinstance(mid, str) or not 0 < len(mid) <= MAX_KEY_LENGTH or "\x00" in mid:
            raise BadEvent("mid is not a message id")
        return mid
    timestamp = raw.get("timestamp")
    if isinstance(timestamp, str) and timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 20:
        timestamp = int(timestamp)  # the newer reference sends every property as a string
    if not isinstance(timestamp, int) or isinstance(timestamp, bool) or timestamp <= 0:
        raise BadEvent("neither mid nor timestamp")
    return f"{sender}:{timestamp}:{kind}"


def _read(message: dict) -> Event:
    quick_reply = message.get("quick_reply")
    if isinstance(quick_reply, dict) and isinstance(quick_reply.get("payload"), str):
        return payload_event(quick_reply["payload"])
    text = message.get("text")
    if isinstance(text, str) and text:
        return Text(text)  # a shared link comes as its text with a `fallback` attachment: the text counts
    return Unreadable()  # a picture, sticker (the thumbs-up too), voice, video, file, location


def postback_event(postback: dict) -> Event:
    payload = postback.get("payload")
    return payload_event(payload) if isinstance(payload, str) else Choice("")


def payload_event(payload: str) -> Event:
    """A payload of ours back into its event; an empty choice (a stale button) for any other."""
    if "\x00" in payload:
        return Choice("")  # no payload of ours holds one, and PostgreSQL refuses it in a query
    if payload in COMMANDS:
        return Command(payload)  # Get Started and the persistent menu
    if payload.startswith(LABEL) and len(payload) > len(LABEL):
        return Text(payload[len(LABEL) :])
    if payload.startswith(OPTION):
        action, _, argument = payload[len(OPTION) :].partition(":")
        return Choice(action, argument)
    return Choice("")


def label_payload(label: str) -> str:
    return LABEL + label


def option_payload(action: str, argument: str) -> str:
    return f"{OPTION}{action}:{argument}"
