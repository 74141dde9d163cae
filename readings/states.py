"""What became of a reading, in the words every channel shows the resident.

readings.selectors.reading_state decides a reading's state; this module only names it, so
the cabinet, the bot, the phone menu's texts and the API say the same thing. No ORM here.
"""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from readings.receipts import receipt_display

if TYPE_CHECKING:  # the models import this module's neighbours; the names are for the reader
    from readings.models import Reading


class State(StrEnum):
    """A reading's state for the resident (the API's `state`). Every reading is first
    received (it has a receipt and a time); then it is one of these."""

    ACCEPTED = "accepted"  # counts for its period
    APPROVED = "approved"  # was held, staff accepted it: counts for its period
    IN_REVIEW = "in_review"  # held for a staff check (why: the review reason)
    REJECTED = "rejected"  # staff rejected it (the reason: their note)
    CONTROL = "control"  # sent outside the window: kept, counts for no month
    SUPERSEDED = "superseded"  # replaced by a later reading of the same window
    BILLED = "billed"  # passed to billing in an export batch


# Held, rejected: the resident has something to read (and maybe to do) before anything else.
NEEDS_ATTENTION = (State.IN_REVIEW, State.REJECTED)


@dataclass(frozen=True)
class ReadingState:
    state: State
    reading: "Reading"
    replaced_by: "Reading | None" = None  # the reading that superseded it
    resend_until: dt.date | None = None  # the last day a corrected reading still counts for its period

    @property
    def receipt(self) -> str:
        return receipt_line(self.reading)

    @property
    def needs_attention(self) -> bool:
        return self.state in NEEDS_ATTENTION

    @property
    def title(self) -> str:
        period = _day(self.reading.period)
        return {
            State.ACCEPTED: _("Accepted: counts as of {period}").format(period=period),
            State.APPROVED: _("Checked by staff and accepted: counts as of {period}").format(period=period),
            State.IN_REVIEW: _("Held for a staff check"),
            State.REJECTED: _("Rejected by staff"),
            State.CONTROL: _("Kept as a control reading: it counts for no month"),
            State.SUPERSEDED: _("Replaced by a later reading"),
            State.BILLED: _("Passed to billing: counts as of {period}").format(period=period),
        }[self.state]

    @property
    def detail(self) -> str:
        """Why it is held, the staff's reason, or what replaced it; empty when the title says it all."""
        reading = self.reading
        if self.state == State.IN_REVIEW:
            return review_reason_text(reading.review_reason, reading.review_note)
        if self.state == State.REJECTED and reading.review_note:
            return _("Reason: {reason}").format(reason=reading.review_note)
        if self.state == State.SUPERSEDED and self.replaced_by is not None:
            return _("Replaced by {values}, receipt {receipt}.").format(
                values=self.replaced_by.values_text, receipt=receipt_display(self.replaced_by.receipt)
            )
        return ""

    @property
    def next_step(self) -> str:
        """What the resident should do now, for a held or rejected reading; empty otherwise."""
        until = _day(self.resend_until) if self.resend_until else None
        if self.state == State.IN_REVIEW:
            if until:
                return _(
                    "Nothing to do: you will be told when staff have checked it. "
                    "If the reading is wrong, send the right one by {day}."
                ).format(day=until)
            return _("Nothing to do: you will be told when staff have checked it.")
        if self.state == State.REJECTED:
            if until:
                return _("Check the meter and send the reading again by {day}.").format(day=until)
            return _("The window for this period has closed: call the contact centre.")
        return ""

    @property
    def text(self) -> str:
        """The state in one line: the title and what explains it."""
        return ". ".join(part.rstrip(".") for part in (self.title, self.detail) if part) + "."


def review_reason_text(reason: str, note: str = "") -> str:
    if reason == "rollover":
        return _("The reading is lower than the previous one: staff check whether the meter went past zero.")
    if reason == "unusual_jump":
        return _("The consumption is far above usual for this meter: staff check the reading.")
    if note:
        return _("Staff asked to check it: {note}").format(note=note)
    return _("Staff asked to check it.")


def receipt_line(reading: "Reading") -> str:
    """'Receipt 4829-1307': what the resident quotes to the contact centre."""
    return _("Receipt {receipt}").format(receipt=receipt_display(reading.receipt))


def replaces_line(earlier: "Reading") -> str:
    """A resend in the window says which earlier reading it replaces."""
    return _("It replaces the reading {values} sent {sent} (receipt {receipt}).").format(
        values=earlier.values_text,
        sent=_day(_local_date(earlier.submitted_at)),
        receipt=receipt_display(earlier.receipt),
    )


def _day(date: dt.date) -> str:
    return f"{date:%d.%m.%Y}"


def _local_date(moment: dt.datetime) -> dt.date:
    return timezone.localdate(moment)
