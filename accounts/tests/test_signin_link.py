"""The bot's one-time sign-in links: good once, for ten minutes, for the user they were issued to."""

import datetime as dt
import threading

import pytest
import time_machine
from django.core import signing
from django.db import connection

from accounts.errors import (
    DomainError,
    SignInLinkExpired,
    SignInLinkInvalid,
    SignInLinkUnavailable,
    SignInLinkUsed,
)
from accounts.models import SignInLink
from accounts.signin_links import SIGNIN_LINK_SALT, signin_link_issue, signin_link_redeem
from accounts.tests.factories import UserFactory
from accounts.tests.telegram import signin_link_token

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def portal(settings):
    settings.PORTAL_URL = "https://pokaznyk.example.ua"
    settings.SIGNIN_LINK_MAX_AGE_SECONDS = 600


def refused(token: str) -> type[DomainError]:
    with pytest.raises(DomainError) as refusal:
        signin_link_redeem(token=token)
    return type(refusal.value)


def test_the_url_leads_to_the_portals_sign_in_link_page():
    url = signin_link_issue(user=UserFactory())
    assert url.startswith("https://pokaznyk.example.ua/")
    assert signin_link_token(url)


def test_a_link_signs_in_its_user_once():
    user = UserFactory()
    token = signin_link_token(signin_link_issue(user=user))

    assert signin_link_redeem(token=token) == user
    assert refused(token) is SignInLinkUsed
    assert SignInLink.objects.get().used_at is not None


def test_each_link_is_its_own():
    user = UserFactory()
    first, second = (signin_link_token(signin_link_issue(user=user)) for _ in range(2))

    assert first != second
    assert signin_link_redeem(token=second) == user
    assert signin_link_redeem(token=first) == user


def test_a_link_expires_after_ten_minutes():
    with time_machine.travel(NOW, tick=False) as traveller:
        user = UserFactory()
        late, in_time = (signin_link_token(signin_link_issue(user=user)) for _ in range(2))
        traveller.shift(dt.timedelta(minutes=10))
        assert signin_link_redeem(token=in_time) == user
        traveller.shift(dt.timedelta(seconds=1))
        assert refused(late) is SignInLinkExpired
    assert SignInLink.objects.filter(used_at__isnull=True).count() == 1  # the late one was never used


def test_the_age_follows_the_setting(settings):
    settings.SIGNIN_LINK_MAX_AGE_SECONDS = 60
    with time_machine.travel(NOW, tick=False) as traveller:
        token = signin_link_token(signin_link_issue(user=UserFactory()))
        traveller.shift(dt.timedelta(seconds=61))
        assert refused(token) is SignInLinkExpired


@pytest.mark.parametrize(
    "tamper",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the signature
        lambda token: ("A" if token[0] != "A" else "B") + token[1:],  # the nonce
        lambda token: token.rsplit(":", 1)[0],  # no signature
        lambda token: token + "x",
        lambda token: "",
        lambda token: "abc",
        lambda token: "::",
        lambda token: "я" * 100,
        lambda token: "x" * 100_000,
    ],
)
def test_a_tampered_or_garbled_token_is_refused(tamper):
    token = signin_link_token(signin_link_issue(user=UserFactory()))
    assert refused(tamper(token)) is SignInLinkInvalid
    assert signin_link_redeem(token=token)  # the genuine link still works


def test_a_token_signed_with_another_salt_is_refused():
    signin_link_issue(user=UserFactory())
    nonce = SignInLink.objects.get().nonce
    for salt in ("", "accounts.api_token", "django.core.signing"):
        assert refused(signing.TimestampSigner(salt=salt).sign(nonce)) is SignInLinkInvalid
    assert refused(signing.dumps(nonce)) is SignInLinkInvalid


def test_a_genuine_signature_of_an_unknown_nonce_is_refused():
    token = signing.TimestampSigner(salt=SIGNIN_LINK_SALT).sign("never-issued")
    assert refused(token) is SignInLinkInvalid


def test_the_link_of_a_deleted_or_deactivated_user_is_refused():
    gone, off = UserFactory(), UserFactory()
    gone_token, off_token = (
        signin_link_token(signin_link_issue(user=gone)),
        signin_link_token(signin_link_issue(user=off)),
    )
    gone.delete()
    off.is_active = False
    off.save()
    assert refused(gone_token) is SignInLinkInvalid
    assert refused(off_token) is SignInLinkInvalid


def test_without_a_portal_url_there_is_no_link(settings):
    settings.PORTAL_URL = ""
    with pytest.raises(SignInLinkUnavailable):
        signin_link_issue(user=UserFactory())
    assert not SignInLink.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_clicks_sign_in_once(on_postgres):
    user = UserFactory()
    tokens = [signin_link_token(signin_link_issue(user=user)) for _ in range(5)]
    for token in tokens:
        start, results = threading.Barrier(4), []

        def click(token=token, start=start, results=results):
            try:
                start.wait(timeout=10)
                results.append(signin_link_redeem(token=token))
            except SignInLinkUsed as refusal:
                results.append(refusal)
            finally:
                connection.close()

        threads = [threading.Thread(target=click) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=20)
        assert sorted(type(result).__name__ for result in results) == ["SignInLinkUsed"] * 3 + ["User"]
