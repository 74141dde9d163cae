"""What a bot handler asks of the portal, one synchronous call each.

Handlers run in the event loop and call these through sync_to_async; these call
the foundation's selectors and services and nothing else.
"""

from accounts.models import User
from readings import selectors
from readings.selectors import Outcome
from readings.services import reading_submit


def reading_from_chat(*, user: User, meter_id: int, text: str, chat_id: int, confirm: bool) -> Outcome:
    meter = selectors.linked_meter(user=user, meter_id=meter_id)
    reading = reading_submit(
        meter=meter, text=text, channel="telegram", submitted_by=user, chat_id=chat_id, confirm=confirm
    )
    return selectors.reading_outcome(reading)
