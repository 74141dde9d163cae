"""Account numbers, meter serials and callers' numbers as people type them, in the one form stored.

Pure rules without the ORM: the web, the API, the bots, the phone menu and the master-data
import all pass what they are given through these, so what is typed and what is stored meet.
"""

import unicodedata
from typing import TYPE_CHECKING

from django.conf import settings

from accounts.errors import AccountNumberInvalid, MeterSerialInvalid

if TYPE_CHECKING:  # only the annotation: the rules here read strings, not the database
    from accounts.models import Meter

MAX_SERIAL_LENGTH = 32


# Cyrillic capitals drawn like Latin ones: on a Ukrainian keyboard "АВ123" looks exactly like the
# "AB123" printed on the meter. Serials are upper-cased first, so lower case is covered too.
_LATIN_LOOKALIKES = str.maketrans("АВЕКМНОРСТХІУ", "ABEKMHOPCTXIY")


def account_number_normalize(raw: str) -> str:
    """Digits only; the spaces and dashes a bill prints between groups are dropped.

    NFKC and the digit folding read what phone keyboards send: full-width "１２３" and
    other scripts' decimal digits become ASCII ones.
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    number = _ascii_digits("".join(text.split()).replace("-", ""))
    low, high = settings.ACCOUNT_NUMBER_LENGTH
    if not (number.isascii() and number.isdigit() and low <= len(number) <= high):
        raise AccountNumberInvalid(min_length=low, max_length=high)
    return number


def meter_serial_normalize(raw: str) -> str:
    """Upper case without spaces, so "ab 123" typed on a phone finds serial AB123.

    Full-width characters become ASCII (NFKC) and Cyrillic letters that look like Latin
    ones become those Latin letters. The import stores serials through this function
    too, so what is typed and what is stored meet.
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    serial = _ascii_digits("".join(text.split()).upper()).translate(_LATIN_LOOKALIKES)
    if not (0 < len(serial) <= MAX_SERIAL_LENGTH and serial.replace("-", "").isalnum()):
        raise MeterSerialInvalid()
    return serial


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


def meter_serial_digits_normalize(raw: str) -> str:
    """The digits of a meter serial as the phone menu's keypad sends them ("AB-0123456" is 0123456)."""
    digits = _ascii_digits(str(raw or "").strip())
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_SERIAL_LENGTH):
        raise MeterSerialInvalid()
    return digits


def serial_digits_of(meter: "Meter") -> str:
    """A meter's serial as the phone menu's callers type it: its digits only."""
    return "".join(char for char in meter.serial if char.isdigit())


# Callers whose number the exchange does not pass share one budget: without one, each would be unlimited.
UNKNOWN_CALLER = "unknown"


def phone_caller_key(raw: str) -> str:
    """The caller's number as the attempt limit and a phone reading record it: "+" and digits."""
    text = str(raw or "").strip()
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    if not digits:
        return UNKNOWN_CALLER
    return ("+" if text.startswith("+") else "") + digits[:32]
