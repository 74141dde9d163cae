"""What a bot handler asks of the portal, one synchronous call each.

Handlers run in the event loop and call these through sync_to_async; these call
the foundation's selectors and services and nothing else.
"""

from dataclasses import dataclass
from decimal import Decimal

from accounts.models import User
from readings import selectors
from readings.models import Reading
from readings.services import reading_submit
from readings.tariffs import estimate_cost
from readings.window import Window


@dataclass(frozen=True)
class Recorded:
    reading: Reading
    cost: Decimal | None
    next_window: Window


def reading_from_chat(*, user: User, meter_id: int, text: str, chat_id: int, confirm: bool) -> Recorded:
    meter = selectors.linked_meter(user=user, meter_id=meter_id)
    reading = reading_submit(
        meter=meter, text=text, channel="telegram", submitted_by=user, chat_id=chat_id, confirm=confirm
    )
    counts = reading.status != Reading.Status.CONTROL and reading.consumption is not None
    return Recorded(
        reading=reading,
        cost=estimate_cost(reading.consumption) if counts else None,
        next_window=selectors.window_for_period(reading.period),
    )
