"""Turning what a resident typed into zone values, or a refusal that says why.

Formats (docs/domain.md): `12345` for one zone, `1111/2222` day/night, `1111/2222/3333`
peak/half-peak/night. Spaces around `/` and leading zeros are fine; whole kWh only.
"""

import re
import unicodedata
from collections.abc import Sequence

from readings.errors import (
    ReadingDecimal,
    ReadingEmpty,
    ReadingNegative,
    ReadingNotANumber,
    ReadingTooLong,
    ReadingTooManyDigits,
    ReadingTotalOfZoned,
    ReadingZoneCount,
)

MAX_INPUT_LENGTH = 64
EXAMPLES = {1: "12345", 2: "1111/2222", 3: "1111/2222/3333"}
_DECIMAL = re.compile(r"^(\d+)[.,]\d*$")
_NEGATIVE = re.compile(r"^[-−–]\s*\d")


def reading_example(zones: int) -> str:
    return EXAMPLES[zones]


def parse_reading(text: str | None, *, zones: int, digits: int) -> tuple[int, ...]:
    """The values of `text` for a meter with `zones` zones and `digits` display digits."""
    example = reading_example(zones)
    if text is None or not text.strip():
        raise ReadingEmpty(example=example)
    if len(text) > MAX_INPUT_LENGTH:
        raise ReadingTooLong(example=example)
    # NFKC folds full-width digits and slashes from phone keyboards into ASCII ones.
    normalized = unicodedata.normalize("NFKC", text).strip()
    values = [_parse_part(part.strip(), normalized, example) for part in normalized.split("/")]
    return check_values(values, zones=zones, digits=digits)


def _parse_part(part: str, whole: str, example: str) -> int:
    if not part:  # "1111/" or "/2222": a zone left out
        raise ReadingNotANumber(part=whole, example=example)
    if part.isdecimal():
        return int(part)  # int() reads every Unicode decimal digit, not only 0-9
    if _NEGATIVE.match(part):
        raise ReadingNegative(example=example)
    decimal = _DECIMAL.match(part)
    if decimal and decimal.group(1).isdecimal():
        raise ReadingDecimal(part=part, whole=int(decimal.group(1)))
    raise ReadingNotANumber(part=part, example=example)


def check_values(values: Sequence[int], *, zones: int, digits: int) -> tuple[int, ...]:
    """Zone count and display capacity, for parsed text and for values sent as numbers."""
    example = reading_example(zones)
    if len(values) != zones:
        if zones > 1 and len(values) == 1:
            raise ReadingTotalOfZoned(zones=zones, example=example)
        raise ReadingZoneCount(zones=zones, count=len(values), example=example)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReadingNotANumber(part=str(value), example=example)
        if value < 0:
            raise ReadingNegative(example=example)
        if value >= 10**digits:
            raise ReadingTooManyDigits(value=value, digits=digits)
    return tuple(values)
