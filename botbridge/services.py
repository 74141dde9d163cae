"""Writes of the bot's own bookkeeping: conversation state and processed updates."""

from typing import Any

from django.db import IntegrityError, transaction

from botbridge.models import ConversationState, ProcessedUpdate


def update_claim(*, bot_id: int, update_id: int) -> bool:
    """True the first time an update is seen, False for every re-delivery of it."""
    try:
        with transaction.atomic():
            ProcessedUpdate.objects.create(bot_id=bot_id, update_id=update_id)
    except IntegrityError:
        return False
    return True


def update_unclaim(*, bot_id: int, update_id: int) -> None:
    """Forget an update whose handling failed, so that its re-delivery is handled."""
    ProcessedUpdate.objects.filter(bot_id=bot_id, update_id=update_id).delete()


def conversation_state_set(*, key: str, state: str | None) -> None:
    ConversationState.objects.update_or_create(key=key, defaults={"state": state or ""})


def conversation_data_set(*, key: str, data: dict[str, Any]) -> None:
    ConversationState.objects.update_or_create(key=key, defaults={"data": data})


def conversation_get(*, key: str) -> tuple[str | None, dict[str, Any]]:
    row = ConversationState.objects.filter(key=key).values_list("state", "data").first()
    if row is None:
        return None, {}
    return row[0] or None, row[1]
