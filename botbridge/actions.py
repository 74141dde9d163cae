"""What a bot handler asks of the portal, one synchronous call each.

The conversation engine calls these; they call the foundation's selectors and services
and nothing else.
"""

from collections.abc import Sequence

from accounts.models import Meter, User
from readings import selectors
from readings.models import Reading
from readings.selectors import Outcome
from readings.services import reading_submit


def reading_from_chat(*, user: User, meter_id: int, text: str, channel: str, user_key: str, confirm: bool) -> Outcome:
    meter = selectors.linked_meter(user=user, meter_id=meter_id)
    # A reading remembers who sent it on its channel, which is where the review notice goes.
    reading = reading_submit(
        meter=meter, text=text, channel=channel, submitted_by=user, channel_user_key=user_key, confirm=confirm
    )
    return selectors.reading_outcome(reading)


def reading_from_phone(*, meter: Meter, values: Sequence[int], caller: str, confirm: bool) -> Outcome:
    """A reading typed on the phone menu's keypad for a meter the caller proved (no user: like the quick form)."""
    reading = reading_submit(
        meter=meter, values=values, channel=Reading.Channel.PHONE, channel_user_key=caller, confirm=confirm
    )
    return selectors.reading_outcome(reading)
