"""Everything the phone menu says, by prompt name, through gettext (Ukrainian first).

Asterisk plays sound files, not text: `manage.py ivr_prompts` renders each prompt here into
<IVR_SOUNDS_PREFIX><name>.wav, and production may replace any of them with a recording of
the same name. So nothing here has a placeholder: a number, a month or a date is said by
playing several prompts one after another (digits, month names, ordinal days), which a
recording can say as well as a synthesiser.
"""

import datetime as dt
from collections.abc import Sequence

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

# Every text is pgettext_lazy("phone prompt", …) written out: makemessages finds them only so.
PROMPTS: dict[str, Promise] = {
    "greeting": pgettext_lazy(
        "phone prompt",
        "Hello! This is the electricity meter readings service. To hear a question again, press the star key.",
    ),
    "hint-operator": pgettext_lazy("phone prompt", "To talk to an operator, press zero."),
    "ask-account": pgettext_lazy(
        "phone prompt", "Enter your personal account number from your electricity bill, then press the hash key."
    ),
    "ask-serial": pgettext_lazy(
        "phone prompt",
        "Now enter the serial number of the meter, printed on the meter itself. Type its digits only and skip "
        "any letters. Then press the hash key.",
    ),
    "meter-ending": pgettext_lazy("phone prompt", "For the meter whose number ends in"),
    "press": pgettext_lazy("phone prompt", "press"),
    "ask-meter": pgettext_lazy("phone prompt", "Choose the meter: press its key."),
    "ask-zone-total": pgettext_lazy(
        "phone prompt",
        "Enter the reading from the meter's display, whole kilowatt-hours without the digits after the comma. "
        "Then press the hash key.",
    ),
    "ask-zone-day": pgettext_lazy(
        "phone prompt", "Enter the day zone reading, whole kilowatt-hours, then press the hash key."
    ),
    "ask-zone-night": pgettext_lazy(
        "phone prompt", "Enter the night zone reading, whole kilowatt-hours, then press the hash key."
    ),
    "ask-zone-peak": pgettext_lazy(
        "phone prompt", "Enter the peak zone reading, whole kilowatt-hours, then press the hash key."
    ),
    "ask-zone-half-peak": pgettext_lazy(
        "phone prompt", "Enter the half-peak zone reading, whole kilowatt-hours, then press the hash key."
    ),
    "you-entered": pgettext_lazy("phone prompt", "You entered:"),
    "zone-day": pgettext_lazy("phone prompt", "day"),
    "zone-night": pgettext_lazy("phone prompt", "night"),
    "zone-peak": pgettext_lazy("phone prompt", "peak"),
    "zone-half-peak": pgettext_lazy("phone prompt", "half-peak"),
    "ask-confirm": pgettext_lazy("phone prompt", "If that is right, press 1. To enter it again, press 2."),
    "confirm-rollover": pgettext_lazy(
        "phone prompt",
        "The reading is lower than the previous one. That is right only if the meter went past zero; "
        "staff will then check the reading.",
    ),
    "confirm-unusual-jump": pgettext_lazy(
        "phone prompt",
        "That is far more consumption than usual for this meter. If the reading is right, staff will check it.",
    ),
    "ask-send-anyway": pgettext_lazy(
        "phone prompt", "To send the reading anyway, press 1. To enter it again, press 2."
    ),
    # Followed by the consumption month the reading closes (readings.periods): the reading of
    # 01.12 is "the consumption for November", as the bills say. Named anew when the words changed
    # from "it counts for December", so no recording of the old words is played before the new month.
    "accepted-consumption": pgettext_lazy("phone prompt", "The reading is accepted: the consumption for"),
    "needs-review-consumption": pgettext_lazy(
        "phone prompt", "The reading is saved and passed to staff for a check: the consumption for"
    ),
    "control": pgettext_lazy(
        "phone prompt",
        "Readings are not being accepted now, so this one is kept as a control reading and does not count "
        "for the month. The next window opens on",
    ),
    "replaces": pgettext_lazy("phone prompt", "It replaces the reading sent earlier in this window:"),
    "replaces-receipt": pgettext_lazy("phone prompt", "whose receipt number was"),
    "receipt": pgettext_lazy(
        "phone prompt",
        "Please write down the receipt number of this reading, and quote it to the contact centre if you ask "
        "about it. The receipt number is",
    ),
    "receipt-again": pgettext_lazy("phone prompt", "Once more, the receipt number is"),
    "ask-another": pgettext_lazy("phone prompt", "To send another reading, press 1."),
    "goodbye": pgettext_lazy("phone prompt", "Thank you for calling. Goodbye!"),
    "no-input": pgettext_lazy("phone prompt", "You have not entered anything."),
    "invalid-input": pgettext_lazy("phone prompt", "That answer does not fit this question."),
    "no-operator": pgettext_lazy("phone prompt", "There is no operator on this line. Please go on with the menu."),
    "transfer": pgettext_lazy("phone prompt", "Connecting you to an operator. Please wait."),
    "giving-up": pgettext_lazy(
        "phone prompt",
        "We could not take your reading this time. Please call again later, or send it on the website or "
        "in the chat bot. Goodbye!",
    ),
    "attempts-left": pgettext_lazy("phone prompt", "Attempts left before a pause:"),
    "last-attempt": pgettext_lazy("phone prompt", "That was the last attempt for now. Please try again later."),
    # Refusals, by the code of the DomainError the menu meets (refusal_prompt).
    "refusal-account_number_invalid": pgettext_lazy(
        "phone prompt",
        "An account number is the digits from your electricity bill, and this one has too few or too many.",
    ),
    "refusal-account_meter_mismatch": pgettext_lazy(
        "phone prompt",
        "No account with that meter was found. Check both numbers: the account number is on your bill, "
        "the serial number on the meter itself.",
    ),
    "refusal-too_many_attempts": pgettext_lazy(
        "phone prompt",
        "Too many unsuccessful attempts: the account number and the meter's number did not match. "
        "Please try again later, or call the contact centre.",
    ),
    "refusal-reading_decrease": pgettext_lazy(
        "phone prompt",
        "The reading is lower than the previous accepted one. A meter reading only grows: check the numbers "
        "and enter them again.",
    ),
    "refusal-meter_inactive": pgettext_lazy(
        "phone prompt",
        "This meter has been removed; readings are taken from the meter installed now. Please call the contact centre.",
    ),
    "refusal-other": pgettext_lazy(
        "phone prompt", "The reading could not be accepted. Please send it on the website, or call the contact centre."
    ),
}
DIGITS: dict[str, Promise] = {
    "digit-0": pgettext_lazy("phone prompt", "zero"),
    "digit-1": pgettext_lazy("phone prompt", "one"),
    "digit-2": pgettext_lazy("phone prompt", "two"),
    "digit-3": pgettext_lazy("phone prompt", "three"),
    "digit-4": pgettext_lazy("phone prompt", "four"),
    "digit-5": pgettext_lazy("phone prompt", "five"),
    "digit-6": pgettext_lazy("phone prompt", "six"),
    "digit-7": pgettext_lazy("phone prompt", "seven"),
    "digit-8": pgettext_lazy("phone prompt", "eight"),
    "digit-9": pgettext_lazy("phone prompt", "nine"),
}
# A consumption month is said as "… the consumption for" + the month ("споживання за листопад").
MONTHS: dict[str, Promise] = {
    "month-01": pgettext_lazy("phone prompt", "January"),
    "month-02": pgettext_lazy("phone prompt", "February"),
    "month-03": pgettext_lazy("phone prompt", "March"),
    "month-04": pgettext_lazy("phone prompt", "April"),
    "month-05": pgettext_lazy("phone prompt", "May"),
    "month-06": pgettext_lazy("phone prompt", "June"),
    "month-07": pgettext_lazy("phone prompt", "July"),
    "month-08": pgettext_lazy("phone prompt", "August"),
    "month-09": pgettext_lazy("phone prompt", "September"),
    "month-10": pgettext_lazy("phone prompt", "October"),
    "month-11": pgettext_lazy("phone prompt", "November"),
    "month-12": pgettext_lazy("phone prompt", "December"),
}
# A date is said as the ordinal day and the month: "the 28th" "of November" ("двадцять восьмого листопада").
OF_MONTHS: dict[str, Promise] = {
    "of-month-01": pgettext_lazy("phone prompt", "of January"),
    "of-month-02": pgettext_lazy("phone prompt", "of February"),
    "of-month-03": pgettext_lazy("phone prompt", "of March"),
    "of-month-04": pgettext_lazy("phone prompt", "of April"),
    "of-month-05": pgettext_lazy("phone prompt", "of May"),
    "of-month-06": pgettext_lazy("phone prompt", "of June"),
    "of-month-07": pgettext_lazy("phone prompt", "of July"),
    "of-month-08": pgettext_lazy("phone prompt", "of August"),
    "of-month-09": pgettext_lazy("phone prompt", "of September"),
    "of-month-10": pgettext_lazy("phone prompt", "of October"),
    "of-month-11": pgettext_lazy("phone prompt", "of November"),
    "of-month-12": pgettext_lazy("phone prompt", "of December"),
}
DAYS: dict[str, Promise] = {
    "date-01": pgettext_lazy("phone prompt", "the 1st"),
    "date-02": pgettext_lazy("phone prompt", "the 2nd"),
    "date-03": pgettext_lazy("phone prompt", "the 3rd"),
    "date-04": pgettext_lazy("phone prompt", "the 4th"),
    "date-05": pgettext_lazy("phone prompt", "the 5th"),
    "date-06": pgettext_lazy("phone prompt", "the 6th"),
    "date-07": pgettext_lazy("phone prompt", "the 7th"),
    "date-08": pgettext_lazy("phone prompt", "the 8th"),
    "date-09": pgettext_lazy("phone prompt", "the 9th"),
    "date-10": pgettext_lazy("phone prompt", "the 10th"),
    "date-11": pgettext_lazy("phone prompt", "the 11th"),
    "date-12": pgettext_lazy("phone prompt", "the 12th"),
    "date-13": pgettext_lazy("phone prompt", "the 13th"),
    "date-14": pgettext_lazy("phone prompt", "the 14th"),
    "date-15": pgettext_lazy("phone prompt", "the 15th"),
    "date-16": pgettext_lazy("phone prompt", "the 16th"),
    "date-17": pgettext_lazy("phone prompt", "the 17th"),
    "date-18": pgettext_lazy("phone prompt", "the 18th"),
    "date-19": pgettext_lazy("phone prompt", "the 19th"),
    "date-20": pgettext_lazy("phone prompt", "the 20th"),
    "date-21": pgettext_lazy("phone prompt", "the 21st"),
    "date-22": pgettext_lazy("phone prompt", "the 22nd"),
    "date-23": pgettext_lazy("phone prompt", "the 23rd"),
    "date-24": pgettext_lazy("phone prompt", "the 24th"),
    "date-25": pgettext_lazy("phone prompt", "the 25th"),
    "date-26": pgettext_lazy("phone prompt", "the 26th"),
    "date-27": pgettext_lazy("phone prompt", "the 27th"),
    "date-28": pgettext_lazy("phone prompt", "the 28th"),
    "date-29": pgettext_lazy("phone prompt", "the 29th"),
    "date-30": pgettext_lazy("phone prompt", "the 30th"),
    "date-31": pgettext_lazy("phone prompt", "the 31st"),
}
CATALOGUE: dict[str, Promise] = {**PROMPTS, **DIGITS, **MONTHS, **OF_MONTHS, **DAYS}

# The zones of a meter with 1, 2 or 3 zones, as the prompts name them (readings.labels.ZONE_NAMES' order).
ZONES = {1: ("total",), 2: ("day", "night"), 3: ("peak", "half-peak", "night")}
CONFIRMATIONS = {"rollover": "confirm-rollover", "unusual_jump": "confirm-unusual-jump"}


def prompt_names() -> list[str]:
    """Every prompt the menu can ask Asterisk to play: what ivr_prompts renders."""
    return list(CATALOGUE)


def prompt_text(name: str) -> str:
    """The prompt's words in the active language."""
    return str(CATALOGUE[name])


def digits(number: int | str) -> list[str]:
    """A number said digit by digit: 1207 is one, two, zero, seven."""
    return [f"digit-{char}" for char in str(number)]


def month(period: dt.date) -> list[str]:
    return [f"month-{period.month:02}"]


def date(day: dt.date) -> list[str]:
    return [f"date-{day.day:02}", f"of-month-{day.month:02}"]


def values(zones: int, values: Sequence[int]) -> list[str]:
    """A reading read back: the value of a one-zone meter; each zone's name and value otherwise."""
    if zones == 1:
        return digits(values[0])
    return [part for zone, value in zip(ZONES[zones], values, strict=True) for part in (f"zone-{zone}", *digits(value))]


def receipt(code: str) -> list[str]:
    """A receipt code digit by digit (its two groups are what the cabinet shows as 4829-1307)."""
    return digits(code)


def refusal(code: str) -> str:
    """The prompt that says why a service refused: the one for its code, or the general one."""
    name = f"refusal-{code}"
    return name if name in PROMPTS else "refusal-other"
