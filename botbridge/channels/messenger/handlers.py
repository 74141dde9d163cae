"""Messenger events a worker takes (stored by the webhook, botbridge.channels.messenger.views):
the engine's answers, sent back through the Graph API in order."""

import json
import logging

from django.utils import translation

from accounts.identities import channel_identity_block
from accounts.selectors import channel_identity_get
from botbridge import texts
from botbridge.channels.inbound import event_answer
from botbridge.channels.messenger import CHANNEL, graph, intake, render
from botbridge.outbound import Blocked, Sent

logger = logging.getLogger(__name__)


def stored_handle(payload: str) -> None:
    """A stored event, in a worker: its failure is raised, and the worker tries it again."""
    item = intake.incoming(json.loads(payload))
    if item is None:
        return
    # Messenger says nothing of the person's language: the stored one is kept (Ukrainian).
    answers = event_answer(
        channel=CHANNEL, event_key=item.key, external_id=item.sender, event=item.event, language_code=None
    )
    if answers is None:
        logger.info("messenger: event %s delivered again, ignored", item.key[:80])
        return
    reply(item.sender, answers)


def reply(recipient: str, answers: list) -> None:
    identity = channel_identity_get(channel=CHANNEL, external_id=recipient)
    with translation.override(texts.language_of(identity.language_code if identity else "")):
        messages = render.messages(answers)
    for message in messages:
        request = {"recipient": {"id": recipient}, "messaging_type": "RESPONSE", "message": message}
        outcome = graph.post("messages", request)
        if isinstance(outcome, Blocked):
            # They blocked the Page since they wrote: no reminders until they write again.
            channel_identity_block(channel=CHANNEL, external_id=recipient, blocked=True)
        if not isinstance(outcome, Sent):
            return  # the rest would arrive out of order; the refusal is logged
