"""Reading and validating the master-data CSV (docs/domain.md) one row at a time.

The same validator serves `manage.py import_accounts` and, later, the admin
upload. It streams: nothing but the current row is held in memory.
"""

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.utils.translation import gettext as _

from accounts.errors import DomainError
from accounts.masterdata import MasterDataRow
from accounts.numbers import account_number_normalize, meter_serial_normalize

REQUIRED_COLUMNS = ("account_number", "meter_serial", "zones", "digits")
OPTIONAL_COLUMNS = ("address", "holder_name", "eic", "t1", "t2", "t3")
MAX_TEXT_LENGTH = 255
_EIC = re.compile(r"^[0-9A-Z-]{16}$")


class MasterDataFileError(Exception):
    """The file as a whole cannot be read: bad header, not UTF-8, empty."""


@dataclass(frozen=True)
class BadRow:
    line: int  # the line the row starts on; the header is line 1
    reasons: list[str]


def read_master_data(lines: Iterable[str]) -> Iterator[MasterDataRow | BadRow]:
    """Each data row of the CSV in `lines`, validated: a MasterDataRow or a BadRow.

    Open the file with errors="surrogateescape" (and newline=""): bytes that are not
    UTF-8 then reach us on their own line, and the operator is told that line's number.
    """
    lines = _utf8_lines(lines)
    line = 1
    try:
        # Inside the try: in a small file the header line is where a decoder fails.
        header_line = next(lines, "")
        if not header_line.strip():
            raise MasterDataFileError(
                _("The file is empty: the first line must be the header, e.g. %(columns)s.")
                % {"columns": ",".join(REQUIRED_COLUMNS)}
            )
        # Excel in a Ukrainian locale saves "CSV" with semicolons; accept both.
        delimiter = ";" if header_line.count(";") > header_line.count(",") else ","
        header = [name.strip().lower() for name in next(csv.reader([header_line], delimiter=delimiter))]
        _check_header(header)
        # strict: a quote left open would otherwise swallow every following row into
        # one field, and those rows would vanish from the import without a word.
        reader = csv.reader(lines, delimiter=delimiter, strict=True)
        line = 2
        for fields in reader:
            if any(field.strip() for field in fields):
                yield _validate(line, header, fields)
            line = reader.line_num + 2  # line_num counts from the second line of the file
    except UnicodeDecodeError:
        # A caller that decodes strictly: the decoder works ahead in blocks, so the
        # line is approximate; _utf8_lines gives the exact one.
        raise _not_utf8(line) from None
    except csv.Error as exc:
        raise MasterDataFileError(
            _("Line %(line)s cannot be read as CSV (%(error)s). Check the quotes on that line.")
            % {"line": line, "error": exc}
        ) from None


def _utf8_lines(lines: Iterable[str]) -> Iterator[str]:
    """`lines` unchanged, stopping at the first one that held bytes which are not UTF-8."""
    for number, line in enumerate(lines, start=1):
        # surrogateescape turns each undecodable byte into a lone surrogate, which
        # cannot be encoded back; ASCII lines, nearly all of them, need no check.
        if not line.isascii():
            try:
                line.encode("utf-8")
            except UnicodeEncodeError:
                raise _not_utf8(number) from None
        yield line


def _not_utf8(line: int) -> MasterDataFileError:
    return MasterDataFileError(
        _("Line %(line)s is not valid UTF-8 text. Save the file as “CSV UTF-8” and try again.") % {"line": line}
    )


def _check_header(header: list[str]) -> None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name and name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    repeated = sorted({name for name in header if name and header.count(name) > 1})
    problems = []
    if "" in header:
        problems.append(_("a column without a name (a spare delimiter at the end of the line?)"))
    if missing:
        problems.append(_("missing required columns: %(names)s") % {"names": ", ".join(missing)})
    if unknown:
        problems.append(_("unknown columns: %(names)s") % {"names": ", ".join(unknown)})
    if repeated:
        problems.append(_("repeated columns: %(names)s") % {"names": ", ".join(repeated)})
    if problems:
        raise MasterDataFileError(
            _("Line 1 (the header): %(problems)s. Allowed columns: %(allowed)s.")
            % {"problems": "; ".join(problems), "allowed": ", ".join(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)}
        )


def _validate(line: int, header: list[str], fields: list[str]) -> MasterDataRow | BadRow:
    if len(fields) != len(header):
        return BadRow(
            line,
            [
                _("%(count)s fields, but the header has %(expected)s columns")
                % {"count": len(fields), "expected": len(header)}
            ],
        )
    raw = {name: value.strip() for name, value in zip(header, fields, strict=True)}
    reasons: list[str] = []

    def check(field: str, parse):
        try:
            return parse(raw.get(field, ""))
        except (DomainError, ValueError) as exc:
            message = exc.message if isinstance(exc, DomainError) else str(exc)
            reasons.append(f"{field} “{raw.get(field, '')[:40]}”: {message}")
            return None

    number = check("account_number", account_number_normalize)
    serial = check("meter_serial", meter_serial_normalize)
    zones = check("zones", lambda v: _whole_in_range(v, 1, 3))
    digits = check("digits", lambda v: _whole_in_range(v, 4, 8))
    eic = check("eic", _eic)
    address = check("address", _text)
    holder_name = check("holder_name", _text)
    initial = None
    if zones is not None and digits is not None:
        initial = check("t1", lambda _v: _baseline(raw, zones, digits))
    if reasons:
        return BadRow(line, reasons)
    return MasterDataRow(
        account_number=number,
        meter_serial=serial,
        zones=zones,
        digits=digits,
        address=address,
        holder_name=holder_name,
        eic=eic,
        initial_values=initial,
    )


def _whole_in_range(value: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
        raise ValueError(_("expected a whole number from %(low)s to %(high)s") % {"low": low, "high": high})
    return int(value)


def _eic(value: str) -> str:
    value = value.upper()
    if value and not _EIC.match(value):
        raise ValueError(_("an EIC code is 16 characters: digits, Latin capital letters and “-”"))
    return value


def _text(value: str) -> str:
    if len(value) > MAX_TEXT_LENGTH:
        raise ValueError(_("longer than %(max)s characters") % {"max": MAX_TEXT_LENGTH})
    return value


def _baseline(raw: dict[str, str], zones: int, digits: int) -> tuple[int, ...]:
    """The last known reading t1..t3: none at all, or exactly one value per zone."""
    given = [raw.get(name, "") for name in ("t1", "t2", "t3")]
    if not any(given):
        return ()
    if (any(given[:zones]) and not all(given[:zones])) or any(given[zones:]):
        raise ValueError(
            _("a %(zones)s-zone meter needs exactly t1..t%(zones)s, or no baseline at all") % {"zones": zones}
        )
    values = given[:zones]
    if not all(v.isascii() and v.isdigit() and int(v) < 10**digits for v in values):
        raise ValueError(_("baseline values are whole kWh of at most %(digits)s digits") % {"digits": digits})
    return tuple(int(v) for v in values)
