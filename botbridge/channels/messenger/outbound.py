"""The Messenger transport of the one sender (botbridge.sending), and Messenger's 24-hour rule.

A Page may write to a person freely within 24 hours of their last message (or tap of a
button): a broadcast then goes with `messaging_type: UPDATE` (a message the Page starts, not
an answer). Outside that window only a window reminder may go, and only as the approved
utility message template named by MESSENGER_REMINDER_TEMPLATE (`messaging_type: UTILITY`,
`message.attachment` of `type: template` with `template_type: utility`, the template's `name`
and `language`, and the reminder's text as its one body parameter). Announcements and review
notices outside the window, and reminders while no template is set, are not sent: the
delivery fails saying why.
"""

import datetime as dt

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from accounts.selectors import channel_identity_get
from botbridge.channels.messenger import CHANNEL, graph
from botbridge.channels.messenger.render import MAX_TEXT, split
from botbridge.models import Broadcast
from botbridge.outbound import Failed, Outcome, Sent

WINDOW = dt.timedelta(hours=24)
# messaged_at is kept to the minute; a little margin keeps a message from arriving just late.
WINDOW_MARGIN = dt.timedelta(minutes=5)
REMINDERS = (Broadcast.Kind.WINDOW_OPENS, Broadcast.Kind.LAST_DAY)
DEFAULT_TEMPLATE_LANGUAGE = "uk"


def template_setting() -> tuple[str, str] | None:
    """MESSENGER_REMINDER_TEMPLATE as (name, language): `name` or `name:language` (default uk)."""
    value = settings.MESSENGER_REMINDER_TEMPLATE
    if not value:
        return None
    name, _, language = value.partition(":")
    return name, language or DEFAULT_TEMPLATE_LANGUAGE


def broadcast_requests(
    *, recipient: str, text: str, kind: str, messaged_at: dt.datetime | None, now: dt.datetime
) -> list[dict] | Failed:
    """The `me/messages` requests that deliver one broadcast text, or why none may go."""
    if messaged_at is not None and now - messaged_at < WINDOW - WINDOW_MARGIN:
        return [
            {"recipient": {"id": recipient}, "messaging_type": "UPDATE", "message": {"text": part}}
            for part in split(text, MAX_TEXT)
        ]
    if kind not in REMINDERS:
        return Failed("outside Messenger's 24-hour window: only window reminders may go, as the utility template")
    template = template_setting()
    if template is None:
        return Failed("outside Messenger's 24-hour window and MESSENGER_REMINDER_TEMPLATE is not set")
    name, language = template
    payload = {
        "template_type": "utility",
        "name": name,
        "language": language,
        "components": [{"type": "body", "parameters": [{"type": "text", "text": text}]}],
    }
    return [
        {
            "recipient": {"id": recipient},
            "messaging_type": "UTILITY",
            "message": {"attachment": {"type": "template", "payload": payload}},
        }
    ]


def messaged_at_of(recipient: str) -> dt.datetime | None:
    identity = channel_identity_get(channel=CHANNEL, external_id=recipient)
    return identity.messaged_at if identity else None


class MessengerTransport:
    channel = CHANNEL
    per_recipient_interval = 1.0  # no documented limit per person; one a second stays polite

    def __init__(self) -> None:
        self.rate = settings.MESSENGER_BROADCAST_RATE
        self.attempts = settings.BROADCAST_ATTEMPTS
        self.client = httpx.AsyncClient(timeout=graph.TIMEOUT)

    async def send(self, recipient_key: str, text: str, *, kind: str) -> Outcome:
        messaged_at = await sync_to_async(messaged_at_of)(recipient_key)
        requests = broadcast_requests(
            recipient=recipient_key, text=text, kind=kind, messaged_at=messaged_at, now=timezone.now()
        )
        if isinstance(requests, Failed):
            return requests
        # A text longer than one message goes as several, in order; the first refusal stops it.
        for request in requests:
            outcome = await graph.post_async(self.client, "messages", request)
            if not isinstance(outcome, Sent):
                return outcome
        return Sent()

    async def close(self) -> None:
        await self.client.aclose()
