"""Viber callbacks in, the engine's answers out: no rule of the conversation is decided here."""

import json
import logging

from accounts.identities import channel_identity_block
from botbridge.channels.inbound import event_answer, event_block
from botbridge.channels.viber import api
from botbridge.channels.viber.intake import Callback
from botbridge.channels.viber.keyboards import event_of_text
from botbridge.channels.viber.messages import MAX_TEXT_LENGTH, messages_of
from botbridge.conversation import Command, Event, Unreadable

logger = logging.getLogger(__name__)
CHANNEL = "viber"


def callback_handle(callback: Callback) -> dict | None:
    """The body of the webhook's answer: a message for `conversation_started`, else None."""
    if callback.event == "message":
        on_message(callback)
    elif callback.event == "conversation_started":
        return on_conversation_started(callback)
    elif callback.event in ("subscribed", "unsubscribed"):
        on_subscription(callback)
    elif callback.event == "failed":
        logger.warning(
            "Viber could not deliver message %s to %s: %s", callback.token, callback.user_id, callback.description
        )
    elif callback.event not in ("webhook", "delivered", "seen"):
        logger.info("Viber event %r is not one this bot handles; ignored", callback.event)
    return None


def event_of(callback: Callback) -> Event:
    if callback.message_type == "text":
        return event_of_text(callback.text)
    return Unreadable()  # a sticker, picture, video, file, location, contact, link, rich media


def answers_to(callback: Callback, event: Event) -> list | None:
    # The event's kind is in the key: a conversation_started and a message never share a claim.
    return event_answer(
        channel=CHANNEL,
        event_key=f"{callback.event}:{callback.token}",
        external_id=callback.user_id,
        event=event,
        name=callback.name,
        language_code=callback.language,
    )


def on_message(callback: Callback) -> None:
    answers = answers_to(callback, event_of(callback))
    if answers is None:
        logger.info("Viber message %s already processed; dropped", callback.token)
        return
    send(callback.user_id, messages_of(answers))


def on_conversation_started(callback: Callback) -> dict | None:
    """The welcome, in the webhook's answer: the only way to write to a user not subscribed yet."""
    answers = answers_to(callback, Command("start"))
    if not callback.subscribed:
        # Opening the chat is not subscribing: nothing may be sent to them until they write.
        channel_identity_block(channel=CHANNEL, external_id=callback.user_id, blocked=True)
    if answers is None:
        logger.info("Viber conversation_started %s already processed; dropped", callback.token)
        return None
    welcome = messages_of(answers)
    if not welcome:
        return None
    # One answer body holds one message: the texts joined, under the last one's keyboard.
    text = "\n\n".join(part["text"] for part in welcome)[:MAX_TEXT_LENGTH]
    return {**welcome[-1], "text": text}


def on_subscription(callback: Callback) -> None:
    event_block(
        channel=CHANNEL,
        event_key=f"{callback.event}:{callback.token}",
        external_id=callback.user_id,
        blocked=callback.event == "unsubscribed",
    )


# What the webhook stores for the workers; the rest it handles itself: receipts are only
# logged, and the welcome to `conversation_started` must go in the webhook's answer (the
# only way to write to a resident who has not subscribed yet).
STORED = ("message", "subscribed", "unsubscribed")


def stored_payload(callback: Callback) -> str:
    return json.dumps(callback.__dict__)


def stored_handle(payload: str) -> None:
    """A stored callback, in a worker."""
    callback_handle(Callback(**json.loads(payload)))


def send(receiver: str, payloads: list[dict]) -> None:
    """The replies, in order; a reply Viber refuses is logged, and the rest are not sent then.

    What the resident sent is saved already: a failed reply does not fail the callback."""
    for payload in payloads:
        answer = api.call("send_message", {"receiver": receiver, **payload})
        if answer.ok:
            continue
        api.log_refusal("send_message", answer, receiver)
        if answer.status in api.GONE:
            channel_identity_block(channel=CHANNEL, external_id=receiver, blocked=True)
        return
