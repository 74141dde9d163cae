"""The Viber transport of the one sender (botbridge.sending): send_message calls and what
Viber's answers mean (botbridge.channels.viber.api.outcome).

"receiver not subscribed" (and "not registered") marks the resident blocked; "too many
requests" pauses the whole sender; network trouble, 5xx and garbled answers are transient;
anything else Viber refuses fails the message.

Viber hides the bot's keyboard under a message that carries none, so every broadcast part
carries the main menu, in the resident's language: a reminder's next step is a tap on it.
"""

import httpx
from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import translation

from accounts.selectors import channel_identity_get
from botbridge import texts
from botbridge.channels.parts import split
from botbridge.channels.viber import api
from botbridge.channels.viber.handlers import CHANNEL
from botbridge.channels.viber.messages import MAX_TEXT_LENGTH, message
from botbridge.conversation import menus
from botbridge.outbound import Outcome, Sent

# Viber publishes no limit per recipient; one message a second keeps a resident unflooded.
RECIPIENT_INTERVAL_SECONDS = 1.0


class ViberTransport:
    channel = CHANNEL
    per_recipient_interval = RECIPIENT_INTERVAL_SECONDS

    def __init__(self) -> None:
        self.rate = settings.VIBER_BROADCAST_RATE
        self.attempts = settings.BROADCAST_ATTEMPTS
        self.client = httpx.AsyncClient(timeout=api.TIMEOUT)

    async def send(self, recipient_key: str, text: str, *, kind: str) -> Outcome:
        identity = await sync_to_async(channel_identity_get)(channel=CHANNEL, external_id=recipient_key)
        with translation.override(texts.language_of(identity.language_code if identity else "")):
            menu = menus.main_menu()
        outcome: Outcome = Sent()
        for part in split(text, MAX_TEXT_LENGTH):
            try:
                response = await self.client.post(
                    **api.request("send_message", {"receiver": recipient_key, **message(part, menu)})
                )
            except httpx.HTTPError as error:
                answer = api.answer_failed(error)
            else:
                answer = api.answer_of(response)
            api.log_refusal("send_message", answer, recipient_key)
            outcome = api.outcome(answer)
            if not isinstance(outcome, Sent):
                break
        return outcome

    async def close(self) -> None:
        await self.client.aclose()
