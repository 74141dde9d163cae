"""Receipt codes: what a resident quotes to the contact centre to name one reading.

Digits only, eight of them, shown in two groups ("4829-1307"): a phone keypad types them,
the phone menu says them with the digit prompts it has, and nobody mixes up O and 0 or
I and 1. Random rather than counted, so a code says nothing about how many readings there
are and a typo almost never lands on somebody else's reading.
"""

import re
import secrets

LENGTH = 8
GROUP = 4
# What a person may type around the digits: spaces, dashes, a leading "№" or "#".
_SEPARATORS = re.compile(r"[\s\-–—.№#]+")


def receipt_new() -> str:
    return f"{secrets.randbelow(10**LENGTH):0{LENGTH}d}"


def receipt_display(code: str) -> str:
    """'48291307' as people read it: '4829-1307'."""
    return f"{code[:GROUP]}-{code[GROUP:]}" if len(code) == LENGTH else code


def receipt_normalize(typed: str) -> str | None:
    """The code in what someone typed ("4829 1307", "№4829-1307"), or None when it is not one."""
    digits = _SEPARATORS.sub("", typed or "")
    return digits if len(digits) == LENGTH and digits.isascii() and digits.isdigit() else None
