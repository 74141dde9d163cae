"""When window reminders are due: a pure rule of the clock and the window."""

import datetime as dt

from botbridge.models import Broadcast
from readings.window import Window


def reminders_due(now: dt.datetime, window: Window, *, hour: int) -> list[str]:
    """The reminder kinds due at `now` (Kyiv wall clock) for `window`, the window containing
    today or the next one: on its first day and its last day, from `hour` on.

    The schedule asks every few minutes, so a beat that was down at `hour` still sends
    later that day; the broadcast's row makes asking again harmless.
    """
    if now.hour < hour:
        return []
    today = now.date()
    due = []
    if today == window.opens:
        due.append(Broadcast.Kind.WINDOW_OPENS)
    if today == window.closes:
        due.append(Broadcast.Kind.LAST_DAY)
    return due
