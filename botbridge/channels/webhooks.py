"""What each channel's webhook does with a POST when a worker converses: verify, parse, store, answer.

One function per channel, `<channel>_take(body, header)`, holds the whole rule: the Django view
(botbridge/views.py, the channels' views.py) and the fast intake in front of Django
(portal/intake.py) both call it and only render its `Taken`. So the two can never answer one
request differently, and what the view does in BOT_EVENTS_INLINE mode (work the stored events
now) is done by the view after the same call.

The answers: 200 stored (or a re-delivery, which changes nothing); 403 a wrong or missing secret
or signature, nothing read further; 400 a body the platform never sends; 404 the bot is off;
503 with Retry-After when the database refuses the write (the platform delivers again; never a
500). Bodies over the path's limit never get here: portal/guards.py answers 413 first.
"""

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass, field
from functools import cache

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpResponse, JsonResponse

from botbridge.channels.viber.intake import Callback, NotACallback, callback_parse, signature_valid
from botbridge.services import Inbound, events_store, telegram_update_key

logger = logging.getLogger(__name__)

# Seconds a platform is asked to wait before it delivers a refused POST again.
RETRY_AFTER_SECONDS = 30


@dataclass(frozen=True)
class Taken:
    """The answer to a webhook POST, and what was stored: the chats whose events now wait."""

    status: int
    body: dict | None = None  # JSON; None: an empty body
    retry_after: int | None = None
    chat_keys: list[str] = field(default_factory=list)


OK = Taken(200, {"ok": True})


def telegram_take(body: bytes, secret: str) -> Taken:
    """Telegram's update, `secret` its X-Telegram-Bot-Api-Secret-Token header."""
    token = settings.TELEGRAM_BOT_TOKEN
    if not token:
        return Taken(404, {"detail": "The Telegram bot is not configured."})
    expected = settings.TELEGRAM_WEBHOOK_SECRET
    if not expected or not hmac.compare_digest(secret.encode(), expected.encode()):
        return Taken(403, {"detail": "Wrong or missing secret token."})
    # Not at the top: aiogram is loaded only in a process whose bot is on (botbridge/views.py).
    from botbridge.channels.telegram.handlers import CHANNEL
    from botbridge.channels.telegram.intake import NotAnUpdate, chat_of, update_read

    try:
        data, update = update_read(body)
    except NotAnUpdate as error:
        logger.warning("webhook: malformed update refused: %s", str(error)[:300])
        return Taken(400, {"detail": "The body is not a Telegram update."})
    chat = chat_of(data)
    key = telegram_update_key(bot_id=_bot_id(token), update_id=update.update_id)
    event = Inbound(channel=CHANNEL, key=key, chat_key=chat, payload=json.dumps(data))
    return _store([event], OK, "The update could not be stored now; deliver it again.")


def viber_take(body: bytes, signature: str) -> Taken | Callback:
    """Viber's callback, `signature` its X-Viber-Content-Signature header; the Callback itself
    when it is not stored but answered by the view (a conversation's start, receipts)."""
    from botbridge.channels.viber.handlers import CHANNEL, STORED, stored_payload

    token = settings.VIBER_AUTH_TOKEN
    if not token:
        _viber_off()
        return Taken(404, {"detail": "The Viber bot is not configured."})
    if not signature_valid(body, signature, token):
        logger.warning("Viber webhook: wrong or missing signature; refused")
        return Taken(403, {"detail": "Wrong or missing signature."})
    try:
        callback = callback_parse(body)
    except NotACallback as error:
        logger.warning("Viber webhook: malformed callback refused: %s", str(error)[:300])
        return Taken(400, {"detail": "The body is not a Viber callback."})
    if callback.event not in STORED:
        return callback
    # The event's kind is in the key: a conversation_started and a message never share one.
    key = f"{callback.event}:{callback.token}"
    event = Inbound(channel=CHANNEL, key=key, chat_key=callback.user_id, payload=stored_payload(callback))
    return _store([event], Taken(200), "The callback could not be stored now; deliver it again.")


def messenger_take(body: bytes, signature: str) -> Taken:
    """Messenger's POST of a Page's events, `signature` its X-Hub-Signature-256 header: every
    event read on its own (a malformed one is logged and skipped), all stored or none."""
    from botbridge.channels.messenger import CHANNEL, intake

    if not settings.MESSENGER_PAGE_ACCESS_TOKEN:
        _messenger_off()
        return Taken(404, {"detail": "The Messenger bot is not configured."})
    if not messenger_signature_valid(body, signature):
        logger.warning("messenger webhook: wrong or missing X-Hub-Signature-256, refused")
        return Taken(403, {"detail": "Wrong or missing signature."})
    try:
        events = intake.entries_parse(body)
    except intake.NotAWebhook as error:
        logger.warning("messenger webhook: malformed body refused: %s", str(error)[:300])
        return Taken(400, {"detail": "The body is not a Messenger webhook event."})
    stored = [event for event in (_messenger_event(CHANNEL, raw) for raw in events) if event is not None]
    return _store(stored, OK, "The events could not be stored now; deliver them again.")


def messenger_signature_valid(body: bytes, header: str) -> bool:
    """`sha256=` and the hex HMAC-SHA256 of the raw body keyed with the app secret."""
    secret = settings.MESSENGER_APP_SECRET
    if not secret or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(header.removeprefix("sha256=").encode(), expected.encode())


def _messenger_event(channel: str, raw: object) -> Inbound | None:
    """The event to store; None for one with nothing to answer, or malformed (logged)."""
    from botbridge.channels.messenger import intake

    try:
        item = intake.incoming(raw)
    except intake.BadEvent as error:
        logger.warning("messenger webhook: event skipped: %s", error)
        return None
    if item is None:
        return None
    return Inbound(channel=channel, key=item.key, chat_key=item.sender, payload=json.dumps(raw))


def _store(events: list[Inbound], stored: Taken, refused: str) -> Taken:
    """`stored` once the events are (one statement: all of them or none), else a 503."""
    try:
        events_store(events=events)
    except DatabaseError:
        logger.exception("webhook: events not stored; the platform will deliver them again")
        return Taken(503, {"detail": refused}, retry_after=RETRY_AFTER_SECONDS)
    return Taken(stored.status, stored.body, chat_keys=[event.chat_key for event in events])


def _bot_id(token: str) -> int:
    # aiogram's extract_bot_id without aiogram: settings checked the token's shape (digits:...).
    return int(token.partition(":")[0])


@cache
def _viber_off() -> None:
    logger.info("The Viber bot is off: VIBER_AUTH_TOKEN is not set.")


@cache
def _messenger_off() -> None:
    logger.info("messenger: MESSENGER_PAGE_ACCESS_TOKEN is not set: the Messenger bot is off")


def taken_response(taken: Taken) -> HttpResponse:
    """The view's rendering of a `Taken` (portal/intake.py renders the same without Django)."""
    response = JsonResponse(taken.body, status=taken.status) if taken.body is not None else HttpResponse(status=200)
    if taken.retry_after is not None:
        response["Retry-After"] = str(taken.retry_after)
    return response
