import pytest
from django.utils import translation

from accounts.errors import DomainError
from readings.parsing import check_values, parse_reading


@pytest.mark.parametrize(
    ("text", "zones", "digits", "values"),
    [
        ("12345", 1, 5, (12345,)),
        ("  12345\n", 1, 5, (12345,)),
        ("00042", 1, 5, (42,)),  # leading zeros as the display shows them
        ("0", 1, 5, (0,)),
        ("99999", 1, 5, (99999,)),
        ("1111/2222", 2, 6, (1111, 2222)),
        ("1111 / 2222", 2, 6, (1111, 2222)),
        ("\t1111 /2222 ", 2, 6, (1111, 2222)),
        ("1111/2222/3333", 3, 6, (1111, 2222, 3333)),
        ("１２３４５", 1, 5, (12345,)),  # full-width digits from a phone keyboard
        ("1111／2222", 2, 6, (1111, 2222)),  # full-width slash
        ("١٢٣٤٥", 1, 5, (12345,)),  # Arabic-Indic digits are digits too
        ("00000012345", 1, 5, (12345,)),  # leading zeros do not count against the display
    ],
)
def test_good_input(text, zones, digits, values):
    assert parse_reading(text, zones=zones, digits=digits) == values


@pytest.mark.parametrize(
    ("text", "zones", "digits", "code"),
    [
        ("", 1, 5, "reading_empty"),
        ("   ", 1, 5, "reading_empty"),
        (None, 1, 5, "reading_empty"),
        ("abc", 1, 5, "reading_not_a_number"),
        ("12a45", 1, 5, "reading_not_a_number"),
        ("12 345", 1, 5, "reading_not_a_number"),  # a space inside one zone's number
        ("+12345", 1, 5, "reading_not_a_number"),
        ("1111/", 2, 6, "reading_not_a_number"),
        ("1e5", 1, 6, "reading_not_a_number"),
        ("-12345", 1, 5, "reading_negative"),
        ("−12345", 1, 5, "reading_negative"),  # the Unicode minus sign
        ("1111/-2222", 2, 6, "reading_negative"),
        ("12345,6", 1, 5, "reading_decimal"),
        ("12345.6", 1, 5, "reading_decimal"),
        ("1111,5/2222", 2, 6, "reading_decimal"),
        ("123456", 1, 5, "reading_too_many_digits"),
        ("1111/2222222", 2, 6, "reading_too_many_digits"),
        ("1111/2222", 1, 6, "reading_zone_count"),
        ("1111/2222", 3, 6, "reading_zone_count"),
        ("1111/2222/3333/4444", 3, 6, "reading_zone_count"),
        ("3333", 2, 6, "reading_total_of_zoned"),  # the T0 total of a 2-zone meter
        ("6666", 3, 6, "reading_total_of_zoned"),
        ("1" * 10_000, 1, 8, "reading_too_long"),
        ("1/" * 5_000, 3, 8, "reading_too_long"),
    ],
)
def test_bad_input_is_refused_with_its_code(text, zones, digits, code):
    with pytest.raises(DomainError) as refused:
        parse_reading(text, zones=zones, digits=digits)
    assert refused.value.code == code


def test_decimal_refusal_says_which_whole_number_to_send():
    with pytest.raises(DomainError) as refused, translation.override("en"):
        parse_reading("12345,6", zones=1, digits=5)
    with translation.override("en"):
        assert "send 12345" in refused.value.message
        assert "after the comma" in refused.value.message


def test_total_refusal_names_the_format_and_the_total():
    with pytest.raises(DomainError) as refused:
        parse_reading("3333", zones=2, digits=6)
    with translation.override("en"):
        message = refused.value.message
    assert "1111/2222" in message
    assert "T0" in message


def test_messages_are_ukrainian_by_default():
    with pytest.raises(DomainError) as refused:
        parse_reading("abc", zones=1, digits=5)
    assert "не число" in refused.value.message
    with translation.override("en"):
        assert "is not a number" in refused.value.message


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ([1111, True], "reading_not_a_number"),  # JSON true is not a number of kWh
        ([1111, "2222"], "reading_not_a_number"),
        ([1111, 22.5], "reading_not_a_number"),
        ([1111, -1], "reading_negative"),
        ([1111], "reading_total_of_zoned"),
        ([1111, 2222, 3333], "reading_zone_count"),
        ([1111, 1_000_000], "reading_too_many_digits"),
    ],
)
def test_values_sent_as_numbers_follow_the_same_rules(values, code):
    with pytest.raises(DomainError) as refused:
        check_values(values, zones=2, digits=6)
    assert refused.value.code == code
