"""Refusals of a reading: one code and one message each, shown by every channel."""

from django.utils.translation import gettext_lazy as _

from accounts.errors import DomainError, TooManyAttempts


class ReadingEmpty(DomainError):
    code = "reading_empty"
    template = _("The reading is empty. Send the numbers from the meter display, for example {example}.")


class ReadingTooLong(DomainError):
    code = "reading_too_long"
    template = _("That is too long for a meter reading. Send only the numbers from the display, for example {example}.")


class ReadingNotANumber(DomainError):
    code = "reading_not_a_number"
    template = _("“{part}” is not a number. Send only digits, with “/” between zones, for example {example}.")


class ReadingNegative(DomainError):
    code = "reading_negative"
    template = _("A meter never shows a negative number. Send the digits from the display, for example {example}.")


class ReadingDecimal(DomainError):
    code = "reading_decimal"
    template = _(
        "Send whole kWh only: leave out the digits after the comma (they are usually in another colour). "
        "For “{part}” send {whole}."
    )


class ReadingZoneCount(DomainError):
    code = "reading_zone_count"
    template = _(
        "Your meter has {zones} zone(s), but you sent {count} value(s). Send {zones} value(s) separated by “/”, "
        "for example {example}."
    )


class ReadingTotalOfZoned(DomainError):
    code = "reading_total_of_zoned"
    template = _(
        "Your meter has {zones} zones: send each zone's reading separated by “/”, for example {example}, "
        "not the total (T0, 1.8.0)."
    )


class ReadingTooManyDigits(DomainError):
    code = "reading_too_many_digits"
    template = _(
        "{value} has more digits than the meter's display shows ({digits}). "
        "Check the number; leave out the digits after the comma."
    )


class ReadingDecrease(DomainError):
    code = "reading_decrease"
    template = _(
        "{value} is less than the previous accepted reading {previous} (zone {zone}). "
        "A meter reading only grows: check the number and send it again."
    )


class ConfirmationRequired(DomainError):
    """The reading is plausible but unusual: the resident must confirm it."""

    code = "confirmation_required"
    template = _("Please confirm the reading.")
    http_status = 409

    def __init__(self, *, reason: str, **params: object) -> None:
        super().__init__(reason=reason, **params)
        self.reason = reason


class RolloverConfirmation(ConfirmationRequired):
    template = _(
        "The reading {value} is lower than the previous {previous} (zone {zone}): did the meter pass 0 "
        "after {capacity}? Confirm if so; staff will check the reading."
    )

    def __init__(self, **params: object) -> None:
        super().__init__(reason="rollover", **params)


class UnusualJumpConfirmation(ConfirmationRequired):
    template = _(
        "That means {consumption} kWh since the previous reading, far more than usual for this meter. "
        "Check the numbers; confirm if they are right, and staff will check the reading."
    )

    def __init__(self, **params: object) -> None:
        super().__init__(reason="unusual_jump", **params)


class MeterInactive(DomainError):
    code = "meter_inactive"
    template = _("Meter {serial} has been removed; readings are taken from the meter now installed.")


class ReviewNotPending(DomainError):
    code = "review_not_pending"
    template = _("This reading is not waiting for review (its status is “{status}”); nothing was changed.")


class ReviewReasonRequired(DomainError):
    code = "review_reason_required"
    template = _("Say why the reading is rejected: the resident reads the reason.")


class FlagNotStanding(DomainError):
    code = "flag_not_standing"
    template = _("Only the period's accepted reading can be flagged for review (this one is “{status}”).")


class TooManyQuickAttempts(TooManyAttempts):
    """The attempt limit as the quick form meets it: there, one sends a reading, not adds an account."""

    template = _(
        "Too many unsuccessful attempts to send a reading: the account number and the meter serial did not "
        "match. Try again in {minutes} min, or call the company's contact centre."
    )


# The quick form's words for a reading out of line: the sender is not signed in, so they never
# learn the meter's earlier readings, not even as a difference ("8000 kWh since the previous one").


class QuickReadingDecrease(ReadingDecrease):
    template = _(
        "{value} is less than the meter's previous accepted reading (zone {zone}). "
        "A meter reading only grows: check the number and send it again."
    )


class QuickRolloverConfirmation(RolloverConfirmation):
    template = _(
        "The reading {value} is lower than the meter's previous reading (zone {zone}): did the meter pass 0 "
        "after {capacity}? Confirm if so; staff will check the reading."
    )


class QuickUnusualJumpConfirmation(UnusualJumpConfirmation):
    template = _(
        "That is far more consumption than usual for this meter. "
        "Check the numbers; confirm if they are right, and staff will check the reading."
    )


QUICK_WORDS = {
    ReadingDecrease: (QuickReadingDecrease, ("value", "zone")),
    RolloverConfirmation: (QuickRolloverConfirmation, ("value", "zone", "capacity")),
    UnusualJumpConfirmation: (QuickUnusualJumpConfirmation, ()),
}


def quick_words(error: DomainError) -> DomainError:
    """The error as the quick form tells it: without the meter's earlier readings."""
    quiet, kept = QUICK_WORDS.get(type(error), (None, ()))
    if quiet is None:
        return error
    return quiet(**{name: error.params[name] for name in kept})


class IdempotencyKeyReused(DomainError):
    code = "idempotency_key_reused"
    template = _("This key was used for a different request.")


class DateOutOfRange(DomainError):
    code = "date_out_of_range"
    template = _("Give a date from {first} to {last}.")


class WindowMoveConfirmation(DomainError):
    """A calendar change would move the window open today, or the next one: residents may have
    been told its dates (reminders, the cabinet), so staff confirm it knowing the new ones."""

    code = "window_move_confirmation"
    template = _(
        "This change moves the readings window: now {old_opens}–{old_closes} (readings as of {old_period}), "
        "after the change {new_opens}–{new_closes} (readings as of {new_period}). "
        "Residents may have been told the present dates already."
    )

    @classmethod
    def between(cls, now, after) -> "WindowMoveConfirmation":
        """The refusal naming window `now` and window `after` (readings.window.Window both)."""
        return cls(
            old_opens=f"{now.opens:%d.%m.%Y}",
            old_closes=f"{now.closes:%d.%m.%Y}",
            old_period=f"{now.period:%d.%m.%Y}",
            new_opens=f"{after.opens:%d.%m.%Y}",
            new_closes=f"{after.closes:%d.%m.%Y}",
            new_period=f"{after.period:%d.%m.%Y}",
        )


# --- Meter photos ------------------------------------------------------------------------------


class PhotoTooBig(DomainError):
    code = "photo_too_big"
    template = _("The photo is larger than {limit} MB. Send a smaller one (a phone's usual photo is 2–5 MB).")


class PhotoNotImage(DomainError):
    code = "photo_not_image"
    template = _("That file is not a picture we can read. Send a photo of the meter as JPEG, PNG or HEIC.")


class PhotoWrongType(DomainError):
    code = "photo_wrong_type"
    template = _("Photos are accepted as JPEG, PNG or HEIC; this one is {kind}. Send it in one of those formats.")


class PhotoTooManyPixels(DomainError):
    code = "photo_too_many_pixels"
    template = _("The picture has more than {limit} megapixels. Send an ordinary photo of the meter.")


class PhotoNotAccepted(DomainError):
    code = "photo_not_accepted"
    template = _("A photo can no longer be added to this reading (its status is “{status}”).")


class PhotoLimitReached(DomainError):
    code = "photo_limit_reached"
    template = _("This reading already has {limit} photos; staff have enough to check it.")
