"""`manage.py import_accounts`: what the operator reads and what lands in the database.

Messages go through gettext (Ukrainian by default), so the tests match on line
numbers, column names and counts rather than on sentences.
"""

import csv
import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from accounts.models import Meter, PersonalAccount
from accounts.tests.factories import MeterFactory

pytestmark = pytest.mark.django_db

COLUMNS = ["account_number", "meter_serial", "zones", "digits", "address", "holder_name", "eic", "t1", "t2", "t3"]
GOOD = {
    "account_number": "123456789",
    "meter_serial": "AB123",
    "zones": "1",
    "digits": "6",
    "address": "вул. Соборна, 1",
    "holder_name": "Іваненко Марія Петрівна",
    "eic": "62Z1234567890123",
    "t1": "1500",
    "t2": "",
    "t3": "",
}


def csv_row(**changes: str) -> str:
    """One CSV line of a good row with `changes`, quoted as Excel would quote it."""
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([{**GOOD, **changes}[name] for name in COLUMNS])
    return out.getvalue()


def csv_file(tmp_path: Path, *rows: str, header: str = ",".join(COLUMNS), encoding: str = "utf-8") -> Path:
    path = tmp_path / "accounts.csv"
    path.write_bytes((header + "\n" + "".join(rows)).encode(encoding))
    return path


def imported(path: Path, *options: str) -> tuple[str, str]:
    """Run an import that succeeds; what it printed to stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    call_command("import_accounts", str(path), *options, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(path: Path, *options: str) -> tuple[str, str]:
    """Run an import that must fail (non-zero exit); the error and what went to stderr.

    A file-level error starts with the file's path; it is cut off, since pytest's
    temporary directory holds digits and column names of its own.
    """
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_accounts", str(path), *options, stdout=io.StringIO(), stderr=err)
    return str(failure.value).removeprefix(f"{path}: "), err.getvalue()


def reported_lines(stderr: str) -> dict[int, str]:
    """The bad rows in the report: line number → the reasons given for it."""
    return {
        int(number): reasons for number, reasons in re.findall(r"^(?:line|рядок) (\d+): (.*)$", stderr, re.MULTILINE)
    }


def numbers(text: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", text)]


def database() -> tuple[list, list]:
    """Everything the import can touch, to show that a refused import changed nothing."""
    accounts = list(PersonalAccount.objects.order_by("number").values_list("number", "address", "holder_name", "eic"))
    meters = list(
        Meter.objects.order_by("account__number", "serial").values_list(
            "account__number", "serial", "zones", "digits", "initial_values"
        )
    )
    return accounts, meters


def test_a_good_file_imports_accounts_and_meters(tmp_path):
    path = csv_file(
        tmp_path,
        csv_row(),
        csv_row(meter_serial="cd 456", zones="2", digits="5", t1="12345", t2="678"),
        csv_row(
            account_number="987-654 321",
            meter_serial="EF789",
            zones="3",
            digits="8",
            address="м. Житомир, вул. Київська, 5, кв. 12",
            holder_name="Петренко Олег",
            eic="62z9876543210987",
            t1="1",
            t2="22",
            t3="99999999",
        ),
        csv_row(account_number="555555555", meter_serial="GH1", address="", holder_name="", eic="", t1=""),
    )
    out, err = imported(path)
    assert numbers(out) == [4]
    assert err == ""
    assert database() == (
        [
            ("123456789", "вул. Соборна, 1", "Іваненко Марія Петрівна", "62Z1234567890123"),
            ("555555555", "", "", ""),
            ("987654321", "м. Житомир, вул. Київська, 5, кв. 12", "Петренко Олег", "62Z9876543210987"),
        ],
        [
            ("123456789", "AB123", 1, 6, [1500]),
            ("123456789", "CD456", 2, 5, [12345, 678]),
            ("555555555", "GH1", 1, 6, []),
            ("987654321", "EF789", 3, 8, [1, 22, 99999999]),
        ],
    )
    assert Meter.objects.filter(is_active=True).count() == 4


def test_reimporting_a_changed_file_updates_rows_in_place(tmp_path):
    imported(csv_file(tmp_path, csv_row(), csv_row(meter_serial="CD456")))
    account_id = PersonalAccount.objects.get().pk
    meter_ids = dict(Meter.objects.values_list("serial", "pk"))

    changed = csv_file(
        tmp_path,
        csv_row(address="вул. Нова, 2", holder_name="Іваненко Петро", eic="", zones="2", digits="7", t1="10", t2="20"),
        csv_row(address="вул. Нова, 2", holder_name="Іваненко Петро", eic="", meter_serial="CD456"),
        csv_row(address="вул. Нова, 2", holder_name="Іваненко Петро", eic="", meter_serial="NEW1", t1="0"),
    )
    out, _ = imported(changed)

    assert numbers(out) == [3]
    assert database() == (
        [("123456789", "вул. Нова, 2", "Іваненко Петро", "")],
        [
            ("123456789", "AB123", 2, 7, [10, 20]),
            ("123456789", "CD456", 1, 6, [1500]),
            ("123456789", "NEW1", 1, 6, [0]),
        ],
    )
    assert PersonalAccount.objects.get().pk == account_id
    assert {serial: pk for serial, pk in Meter.objects.values_list("serial", "pk") if serial != "NEW1"} == meter_ids


def test_importing_the_same_file_twice_changes_nothing(tmp_path):
    path = csv_file(tmp_path, csv_row(), csv_row(meter_serial="CD456"))
    imported(path)
    before = database()
    imported(path)
    assert database() == before
    assert (PersonalAccount.objects.count(), Meter.objects.count()) == (1, 2)


def mixed_file(tmp_path: Path, newline: str) -> Path:
    """Good and bad rows; a quoted three-line address comes before the first bad row."""
    text = (
        ",".join(COLUMNS)  # line 1
        + "\n"
        + csv_row(address="вул. Змінена, 9")  # line 2: changes the account that already exists
        + csv_row(account_number="111111111", address="вул. Соборна, 1\nкв. 5\nпід’їзд 2")  # lines 3-5
        + csv_row(account_number="222222222", zones="4")  # line 6: bad
        + "\n"  # line 7: blank
        + csv_row(account_number="333333333")  # line 8
        + csv_row(account_number="444444444", digits="9", eic="62Z12345")  # line 9: bad twice
        + csv_row(account_number="555555555", meter_serial="X1")  # line 10
    )
    path = tmp_path / "mixed.csv"
    path.write_bytes(text.replace("\n", newline).encode())
    return path


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF (Excel)"])
def test_bad_rows_are_reported_by_line_and_nothing_is_imported(tmp_path, newline):
    MeterFactory(account__number="123456789", account__address="вул. Стара, 1", serial="AB123")
    before = database()

    error, err = refused(mixed_file(tmp_path, newline))

    bad = reported_lines(err)
    assert sorted(bad) == [6, 9]
    assert "zones" in bad[6]
    assert "digits" in bad[9]
    assert "eic" in bad[9]
    assert numbers(error) == [2]  # two bad rows
    assert "--skip-invalid" in error
    assert database() == before  # not even the good rows, nor the change to the existing account


def test_skip_invalid_imports_the_good_rows_and_reports_the_skipped_count(tmp_path):
    out, err = imported(mixed_file(tmp_path, "\n"), "--skip-invalid")

    assert numbers(out) == [4, 2]  # imported 4, skipped 2
    assert sorted(reported_lines(err)) == [6, 9]  # the skipped rows are still named
    accounts = dict(PersonalAccount.objects.values_list("number", "address"))
    assert sorted(accounts) == ["111111111", "123456789", "333333333", "555555555"]
    assert accounts["111111111"] == "вул. Соборна, 1\nкв. 5\nпід’їзд 2"


@pytest.mark.parametrize(
    ("line", "column"),
    [
        (csv_row(zones="4"), "zones"),
        (csv_row(zones="0"), "zones"),
        (csv_row(zones="two"), "zones"),
        (csv_row(zones=""), "zones"),
        (csv_row(digits="9"), "digits"),
        (csv_row(digits="3"), "digits"),
        (csv_row(digits="6.5"), "digits"),
        (csv_row(account_number="12345678a"), "account_number"),
        (csv_row(account_number="12345"), "account_number"),  # too short: 6-12 digits
        (csv_row(account_number="1234567890123"), "account_number"),  # too long
        (csv_row(account_number=""), "account_number"),
        (csv_row(meter_serial=""), "meter_serial"),
        (csv_row(meter_serial="AB;123"), "meter_serial"),
        (csv_row(meter_serial="X" * 33), "meter_serial"),
        (csv_row(eic="62Z123456789012"), "eic"),  # 15 characters
        (csv_row(eic="62Z12345678901234"), "eic"),  # 17 characters
        (csv_row(eic="62Z123456789012Ж"), "eic"),  # a Cyrillic letter
        (csv_row(zones="2", t1="100", t2=""), "t1"),  # a 2-zone meter with one baseline value
        (csv_row(zones="1", t1="100", t2="200"), "t1"),  # a 1-zone meter with two
        (csv_row(zones="3", t1="", t2="", t3="300"), "t1"),
        (csv_row(digits="5", t1="123456"), "t1"),  # more digits than the display has
        (csv_row(t1="-5"), "t1"),
        (csv_row(t1="12.5"), "t1"),
        (csv_row(address="д" * 256), "address"),
        (csv_row(holder_name="І" * 256), "holder_name"),
    ],
)
def test_a_bad_value_is_reported_with_its_line_and_column(tmp_path, line, column):
    path = csv_file(tmp_path, csv_row(account_number="100000001"), line)
    error, err = refused(path)
    bad = reported_lines(err)
    assert list(bad) == [3]
    assert bad[3].startswith(column)
    assert numbers(error) == [1]
    assert database() == ([], [])


@pytest.mark.parametrize(
    ("line", "count"),
    [
        (csv_row().rstrip("\n") + ",extra\n", 11),
        (csv_row().rstrip("\n") + ",,\n", 12),  # empty extra fields are still extra
        (",".join(GOOD[name] for name in COLUMNS[:4]) + "\n", 4),
    ],
    ids=["one too many", "two empty too many", "too few"],
)
def test_a_row_with_the_wrong_number_of_fields_is_bad(tmp_path, line, count):
    _, err = refused(csv_file(tmp_path, line))
    assert numbers(reported_lines(err)[2]) == [count, len(COLUMNS)]
    assert database() == ([], [])


@pytest.mark.parametrize(
    ("header", "named"),
    [
        ("account_number,meter_serial,zones,address", ["digits"]),
        ("account_number,zones", ["meter_serial", "digits"]),
        ("account_number,meter_serial,zones,digits,tariff", ["tariff"]),
        ("account_number,meter_serial,zones,digits,digits", ["digits"]),
        ("рахунок,meter_serial,zones,digits", ["account_number", "рахунок"]),
    ],
)
def test_a_bad_header_is_refused_naming_the_columns(tmp_path, header, named):
    error, err = refused(csv_file(tmp_path, "123456789,AB123,1,6,x\n", header=header))
    # Named among the problems, besides once in the list of allowed columns.
    assert all(error.count(name) == 1 + (name in COLUMNS) for name in named)
    assert numbers(error)[:1] == [1]  # the header is line 1
    assert err == ""
    assert database() == ([], [])


def test_header_names_are_matched_without_case_or_spaces(tmp_path):
    path = csv_file(tmp_path, "123456789,AB123,1,6\n", header="Account_Number , METER_SERIAL,zones,Digits")
    imported(path)
    assert database()[1] == [("123456789", "AB123", 1, 6, [])]


def test_a_semicolon_file_from_excel_in_ukrainian_locale_is_read(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(
        "account_number;meter_serial;zones;digits;address;t1;t2\r\n"
        "123456789;AB123;2;6;вул. Соборна, 1;100;50\r\n"
        '987654321;CD456;1;6;"вул. Київська; 5";7;\r\n'.encode()
    )
    out, _ = imported(path)
    assert numbers(out) == [2]
    assert database() == (
        [("123456789", "вул. Соборна, 1", "", ""), ("987654321", "вул. Київська; 5", "", "")],
        [("123456789", "AB123", 2, 6, [100, 50]), ("987654321", "CD456", 1, 6, [7])],
    )


def test_a_utf8_file_with_a_byte_order_mark_is_read(tmp_path):
    path = csv_file(tmp_path, csv_row(), header="\ufeff" + ",".join(COLUMNS))
    out, _ = imported(path)
    assert numbers(out) == [1]
    assert PersonalAccount.objects.get().address == "вул. Соборна, 1"


def test_a_cp1251_file_is_refused_and_nothing_is_imported(tmp_path):
    path = csv_file(tmp_path, csv_row(), encoding="cp1251")
    error, _ = refused(path)
    assert "UTF-8" in error
    assert numbers(error)[:1] == [2]  # the first line with Cyrillic
    assert database() == ([], [])


def test_a_non_utf8_line_deep_in_a_large_file_is_named_exactly(tmp_path):
    # Past the decoder's first 8 KB block: a block-wise decoder would name an earlier line.
    rows = [csv_row(account_number=f"{100000000 + n}").encode() for n in range(600)]
    rows[499] = csv_row(account_number="999999999").encode("cp1251")  # line 501
    path = tmp_path / "large.csv"
    path.write_bytes((",".join(COLUMNS) + "\n").encode() + b"".join(rows))

    error, _ = refused(path)

    assert "UTF-8" in error
    assert numbers(error)[:1] == [501]
    assert database() == ([], [])


def test_a_quote_left_open_stops_the_import_at_its_line(tmp_path):
    # Without this check the open quote swallows the following rows into one address.
    path = csv_file(
        tmp_path, csv_row(), '123456780,X1,1,6,"вул. Соборна, 1,,,,,\n', csv_row(account_number="222222222")
    )
    error, _ = refused(path)
    assert numbers(error)[:1] == [3]
    assert database() == ([], [])


def test_a_missing_file_is_a_clear_error(tmp_path):
    error, _ = refused(tmp_path / "no-such-file.csv")
    assert "no-such-file.csv" in error


def test_an_empty_file_is_refused_naming_the_required_columns(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    error, _ = refused(path)
    assert all(name in error for name in ("account_number", "meter_serial", "zones", "digits"))


def test_a_file_with_only_the_header_imports_nothing(tmp_path):
    out, err = imported(csv_file(tmp_path))
    assert numbers(out) == [0]
    assert err == ""
    assert database() == ([], [])


def test_blank_lines_are_ignored(tmp_path):
    path = csv_file(
        tmp_path,
        "\n",  # line 2
        csv_row(),  # line 3
        "   \n",  # line 4
        ",,,,,,,,,\n",  # line 5: an empty row as Excel saves it
        csv_row(meter_serial="CD456"),  # line 6
        "\n\n",  # lines 7-8
        csv_row(meter_serial="EF789", zones="5"),  # line 9: bad, numbered past the blank lines
        "\n",
    )
    out, err = imported(path, "--skip-invalid")
    assert numbers(out) == [2, 1]
    assert list(reported_lines(err)) == [9]
    assert sorted(Meter.objects.values_list("serial", flat=True)) == ["AB123", "CD456"]


def test_a_large_file_is_imported_across_batches(tmp_path):
    # More rows than one batch of master_data_import, with an account split across two.
    rows = [csv_row(account_number=f"{100000000 + n // 2}", meter_serial=f"SN{n}") for n in range(4501)]
    out, _ = imported(csv_file(tmp_path, *rows))
    assert numbers(out) == [4501]
    assert (PersonalAccount.objects.count(), Meter.objects.count()) == (2251, 4501)


def test_a_spare_delimiter_at_the_end_of_the_header_is_named(tmp_path):
    error, _ = refused(csv_file(tmp_path, "123456789,AB123,1,6,\n", header="account_number,meter_serial,zones,digits,"))
    assert "стовпець без назви" in error


def test_the_operator_reads_ukrainian_by_default(tmp_path):
    _, err = refused(csv_file(tmp_path, csv_row(zones="4")))
    assert err.startswith("рядок 2: zones “4”: очікується ціле число від 1 до 3")
