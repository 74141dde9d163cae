"""The Viber transport of the one sender (botbridge.sending): send_message calls and what
Viber's answers mean (botbridge.channels.viber.api.outcome).

"receiver not subscribed" (and "not registered") marks the resident blocked; "too many
requests" pauses the whole sender; network trouble, 5xx and garbled answers are transient;
anything else Viber refuses fails the message.
"""

import httpx
from django.conf import settings

from botbridge.channels.viber import api
from botbridge.channels.viber.handlers import CHANNEL
from botbridge.channels.viber.messages import message, split
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

    async def send(self, recipient_key: str, text: str) -> Outcome:
        outcome: Outcome = Sent()
        for part in split(text):
            try:
                response = await self.client.post(
                    **api.request("send_message", {"receiver": recipient_key, **message(part)})
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
