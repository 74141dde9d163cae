"""What a bot handler asks of the portal, one synchronous call each.

The conversation engine calls these; they call the foundation's selectors and services
and nothing else.
"""

from accounts.models import User
from readings import selectors
from readings.models import Reading
from readings.selectors import Outcome
from readings.services import reading_submit


def reading_from_chat(*, user: User, meter_id: int, text: str, channel: str, user_key: str, confirm: bool) -> Outcome:
    meter = selectors.linked_meter(user=user, meter_id=meter_id)
    # A reading remembers the Telegram chat it came from (for the review notice); in a private
    # chat that is the user's own id. The channel identity model will keep any channel's key.
    chat_id = int(user_key) if channel == Reading.Channel.TELEGRAM else None
    reading = reading_submit(
        meter=meter, text=text, channel=channel, submitted_by=user, chat_id=chat_id, confirm=confirm
    )
    return selectors.reading_outcome(reading)
