"""Showing just enough of an address for a resident to recognise their home."""

import re

_NUMBER = re.compile(r"\d+")


def mask_address(address: str) -> str:
    """Every number keeps its first digit: "вул. Соборна, 123, кв. 45" → "вул. Соборна, 1**, кв. 4*"."""
    return _NUMBER.sub(lambda number: number.group()[0] + "*" * (len(number.group()) - 1), address)
