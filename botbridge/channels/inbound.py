"""One event from a resident on a channel, taken the same way on every channel that delivers
events by webhook: at most once, the resident resolved, the engine's answers returned.

The adapter verifies and parses the platform's request, calls `event_answer` per event and
renders the answers its platform's way; nothing of the conversation is decided here.
"""

from django.db import transaction

from accounts.identities import channel_identity_block, channel_identity_resolve
from botbridge import texts
from botbridge.conversation import Answer, Event, converse
from botbridge.services import event_claim


def event_answer(
    *,
    channel: str,
    event_key: str,
    external_id: str,
    event: Event,
    name: str = "",
    username: str = "",
    language_code: str | None = None,
) -> list[Answer] | None:
    """The engine's answers to the event, or None when it was taken before (a re-delivery).

    One transaction: the claim, the resident, and what the conversation writes commit
    together, so an event whose handling failed is handled when the platform re-delivers it,
    and one that was handled is never handled twice. The answers are sent after it.
    `language_code` None: the platform does not say; the resident's stored one is kept.
    """
    with transaction.atomic():
        if not event_claim(channel=channel, key=event_key):
            return None
        user = channel_identity_resolve(
            channel=channel, external_id=external_id, display_name=name, username=username, language_code=language_code
        )
        if language_code is None:
            language_code = user.channel_identities.get(channel=channel).language_code
        return converse(
            channel=channel,
            user_key=external_id,
            user=user,
            event=event,
            language=texts.language_of(language_code),
            name=name,
        )


def event_block(*, channel: str, event_key: str, external_id: str, blocked: bool) -> None:
    """The resident blocked the bot (nothing more is sent to them) or came back; once per event."""
    with transaction.atomic():
        if event_claim(channel=channel, key=event_key):
            channel_identity_block(channel=channel, external_id=external_id, blocked=blocked)
