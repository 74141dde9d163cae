import datetime as dt

import pytest
import time_machine

from accounts.errors import DomainError
from accounts.linking import account_link, account_unlink
from accounts.models import AccountLink, LinkAttempt
from accounts.tests.factories import MeterFactory, PersonalAccountFactory, UserFactory

pytestmark = pytest.mark.django_db


def refused_code(**kwargs) -> str:
    with pytest.raises(DomainError) as refused:
        account_link(**kwargs)
    return refused.value.code


def test_the_pair_account_and_meter_serial_links_the_account():
    meter = MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory()
    link = account_link(user=user, account_number="123456789", meter_serial="AB123")
    assert link.account == meter.account
    assert list(user.account_links.values_list("account__number", flat=True)) == ["123456789"]


def test_what_a_phone_types_is_normalised():
    MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory()
    account_link(user=user, account_number=" 123-456 789 ", meter_serial="ab 123")
    assert AccountLink.objects.filter(user=user).count() == 1


@pytest.mark.parametrize(
    ("number", "serial", "code"),
    [
        ("999999999", "AB123", "account_meter_mismatch"),
        ("123456789", "ZZ999", "account_meter_mismatch"),
        ("123456789", "OLD1", "account_meter_mismatch"),  # a removed meter does not prove the account
        ("12345", "AB123", "account_number_invalid"),  # too short (6-12 digits)
        ("1234567890123", "AB123", "account_number_invalid"),
        ("12345678a", "AB123", "account_number_invalid"),
        ("", "AB123", "account_number_invalid"),
        ("123456789", "", "meter_serial_invalid"),
        ("123456789", "AB;DROP", "meter_serial_invalid"),
        ("123456789", "X" * 33, "meter_serial_invalid"),
    ],
)
def test_a_wrong_pair_is_refused_and_nothing_is_linked(number, serial, code):
    account = PersonalAccountFactory(number="123456789")
    MeterFactory(account=account, serial="AB123")
    MeterFactory(account=account, serial="OLD1", is_active=False, removed_on=dt.date(2025, 1, 1))
    user = UserFactory()
    assert refused_code(user=user, account_number=number, meter_serial=serial) == code
    assert not AccountLink.objects.exists()


def test_an_inactive_account_cannot_be_linked():
    MeterFactory(account__number="123456789", account__is_active=False, serial="AB123")
    assert (
        refused_code(user=UserFactory(), account_number="123456789", meter_serial="AB123") == "account_meter_mismatch"
    )


def test_linking_twice_says_already_linked():
    MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory()
    account_link(user=user, account_number="123456789", meter_serial="AB123")
    assert refused_code(user=user, account_number="123456789", meter_serial="AB123") == "already_linked"
    assert AccountLink.objects.count() == 1


def test_a_user_links_several_accounts_and_an_account_has_several_users():
    first = MeterFactory(account__number="111111111", serial="A1")
    MeterFactory(account__number="222222222", serial="B2")
    mother, son = UserFactory(), UserFactory()
    account_link(user=mother, account_number="111111111", meter_serial="A1")
    account_link(user=mother, account_number="222222222", meter_serial="B2")
    account_link(user=son, account_number="111111111", meter_serial="A1")
    assert mother.account_links.count() == 2
    assert first.account.links.count() == 2


def test_guessing_is_stopped_after_five_failures_and_allowed_again_an_hour_later(settings):
    settings.LINK_ATTEMPTS_MAX = 5
    settings.LINK_ATTEMPTS_PERIOD_SECONDS = 3600
    MeterFactory(account__number="123456789", serial="AB123")
    user, neighbour = UserFactory(), UserFactory()
    with time_machine.travel("2026-11-27 10:00Z", tick=False) as clock:
        for guess in range(5):
            assert (
                refused_code(user=user, account_number=f"10000000{guess}", meter_serial="X1")
                == "account_meter_mismatch"
            )
        # Even the right pair is refused now, so guessing cannot continue.
        with pytest.raises(DomainError) as refused:
            account_link(user=user, account_number="123456789", meter_serial="AB123")
        assert refused.value.code == "too_many_attempts"
        assert refused.value.params["minutes"] == 60
        # The limit is per user: a neighbour is not blocked.
        account_link(user=neighbour, account_number="123456789", meter_serial="AB123")
        clock.shift(dt.timedelta(minutes=61))
        account_link(user=user, account_number="123456789", meter_serial="AB123")
    assert LinkAttempt.objects.filter(user=user).count() == 5


def test_badly_typed_numbers_do_not_count_as_guesses(settings):
    settings.LINK_ATTEMPTS_MAX = 2
    MeterFactory(account__number="123456789", serial="AB123")
    user = UserFactory()
    for _ in range(3):
        assert refused_code(user=user, account_number="12", meter_serial="AB123") == "account_number_invalid"
    account_link(user=user, account_number="123456789", meter_serial="AB123")


def test_unlink_removes_only_that_users_link():
    MeterFactory(account__number="123456789", serial="AB123")
    mother, son = UserFactory(), UserFactory()
    account_link(user=mother, account_number="123456789", meter_serial="AB123")
    account_link(user=son, account_number="123456789", meter_serial="AB123")
    account_unlink(user=mother, account_number="123456789")
    assert list(AccountLink.objects.values_list("user", flat=True)) == [son.pk]
    with pytest.raises(DomainError) as refused:
        account_unlink(user=mother, account_number="123456789")
    assert refused.value.code == "not_linked"
