"""Telegram Login Widget answers: a genuine, fresh one signs in; anything else is a clear refusal."""

import datetime as dt
import hmac
from urllib.parse import urlencode

import pytest
import time_machine
from django.http import QueryDict

from accounts import telegram_login
from accounts.errors import (
    TelegramLoginForged,
    TelegramLoginIncomplete,
    TelegramLoginStale,
    TelegramLoginUnavailable,
)
from accounts.identities import channel_identity_resolve
from accounts.models import ChannelIdentity
from accounts.telegram_login import TelegramLogin, telegram_login_verify
from accounts.tests.telegram import signed_telegram_login, telegram_login_hash

TOKEN = "123456789:TEST-token_for-fake-bot-api"
OTHER_TOKEN = "987654321:another-bots-token"
NOW = dt.datetime(2026, 11, 28, 10, 0, tzinfo=dt.UTC)
NOW_TS = int(NOW.timestamp())
DAY = 86400


@pytest.fixture(autouse=True)
def login_on(settings):
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_BOT_USERNAME = "pokaznyk_test_bot"
    return settings


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def signed(**fields) -> dict[str, str]:
    return signed_telegram_login(bot_token=TOKEN, **fields)


def as_query(params: dict[str, str]) -> QueryDict:
    """What Django makes of Telegram's redirect: request.GET."""
    return QueryDict(urlencode(params))


def refusal(params) -> type:
    with pytest.raises(
        (TelegramLoginUnavailable, TelegramLoginIncomplete, TelegramLoginStale, TelegramLoginForged)
    ) as refused:
        telegram_login_verify(params)
    assert refused.value.message  # words for the resident, never an empty page
    return type(refused.value)


# --- Genuine answers --------------------------------------------------------------------------


def test_a_correctly_signed_answer_names_the_telegram_user():
    params = signed(
        telegram_id=5000000001,
        first_name="Марія",
        last_name="Іваненко",
        username="maria_iv",
        photo_url="https://t.me/i/userpic/320/maria.jpg",
    )

    assert telegram_login_verify(as_query(params)) == TelegramLogin(
        telegram_id=5000000001, first_name="Марія", username="maria_iv"
    )


def test_a_user_without_a_username_gets_an_empty_one():
    assert telegram_login_verify(as_query(signed())) == TelegramLogin(telegram_id=111, first_name="Марія", username="")


def test_an_answer_a_little_ahead_of_our_clock_is_accepted():
    assert telegram_login_verify(signed(auth_date=NOW_TS + 60)).telegram_id == 111


# --- Not from Telegram ------------------------------------------------------------------------


def test_a_wrong_hash_is_forged():
    params = signed()
    params["hash"] = "0" * 64
    assert refusal(params) is TelegramLoginForged


def test_the_hash_of_another_bots_token_is_forged():
    assert refusal(signed_telegram_login(bot_token=OTHER_TOKEN)) is TelegramLoginForged


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("id", "222"),  # someone else's account
        ("first_name", "Петро"),
        ("username", "maria_iv2"),
        ("auth_date", str(NOW_TS + 1)),  # an old answer made to look fresh
    ],
)
def test_a_field_changed_after_signing_is_forged(field, value):
    params = signed(username="maria_iv")
    params[field] = value
    assert refusal(as_query(params)) is TelegramLoginForged


def test_a_field_added_or_removed_after_signing_is_forged():
    added = {**signed(), "username": "admin"}
    removed = signed(username="maria_iv")
    del removed["username"]
    assert refusal(added) is TelegramLoginForged
    assert refusal(removed) is TelegramLoginForged


def test_hashes_are_compared_in_constant_time(monkeypatch):
    compared, constant_time = [], hmac.compare_digest

    def compare_digest(a, b):
        compared.append((a, b))
        return constant_time(a, b)

    monkeypatch.setattr(telegram_login.hmac, "compare_digest", compare_digest)
    params = signed()
    telegram_login_verify(params)
    assert compared and compared[0][1] == params["hash"]


# --- Out of date ------------------------------------------------------------------------------


def test_an_answer_older_than_a_day_is_stale_by_default():
    assert telegram_login_verify(signed(auth_date=NOW_TS - DAY)).telegram_id == 111
    assert refusal(signed(auth_date=NOW_TS - DAY - 1)) is TelegramLoginStale


def test_an_answer_goes_stale_as_time_passes():
    params = signed()
    with time_machine.travel(NOW + dt.timedelta(days=1, seconds=1), tick=False):
        assert refusal(params) is TelegramLoginStale


def test_the_maximum_age_is_configurable(settings):
    settings.TELEGRAM_LOGIN_MAX_AGE_SECONDS = 300
    assert telegram_login_verify(signed(auth_date=NOW_TS - 300)).telegram_id == 111
    assert refusal(signed(auth_date=NOW_TS - 301)) is TelegramLoginStale


def test_an_answer_from_the_future_is_refused():
    assert refusal(signed(auth_date=NOW_TS + 61)) is TelegramLoginStale
    assert refusal(signed(auth_date=NOW_TS + 10 * DAY)) is TelegramLoginStale


# --- Incomplete or garbled --------------------------------------------------------------------


@pytest.mark.parametrize("field", ["id", "first_name", "auth_date"])
def test_a_signed_answer_without_a_required_field_is_incomplete(field):
    fields = {"id": "111", "first_name": "Марія", "auth_date": str(NOW_TS)}
    del fields[field]
    params = {**fields, "hash": telegram_login_hash(bot_token=TOKEN, fields=fields)}
    assert refusal(as_query(params)) is TelegramLoginIncomplete


def test_an_answer_without_its_hash_is_incomplete():
    params = signed()
    del params["hash"]
    assert refusal(as_query(params)) is TelegramLoginIncomplete


def test_no_answer_at_all_is_incomplete():
    assert refusal(QueryDict("")) is TelegramLoginIncomplete


@pytest.mark.parametrize(
    "telegram_id",
    ["", "abc", "0", "-111", "1.5", "1e9", " 111", "111 ", "０１１１", "٣٣", "9223372036854775808", "1" * 25],
)
def test_a_garbled_id_is_incomplete_even_if_signed(telegram_id):
    params = signed(id=telegram_id)
    assert refusal(params) is TelegramLoginIncomplete


@pytest.mark.parametrize("auth_date", ["", "yesterday", "-1", "1.7e9", f"{NOW_TS}.5", "9" * 40, "１７"])
def test_a_garbled_auth_date_is_incomplete_even_if_signed(auth_date):
    params = signed(auth_date=auth_date)
    assert refusal(params) is TelegramLoginIncomplete


@pytest.mark.parametrize(
    "bad_hash",
    ["", "xyz", "0" * 63, "0" * 65, "G" * 64, " " + "0" * 63],
)
def test_a_garbled_hash_is_incomplete(bad_hash):
    params = signed()
    params["hash"] = bad_hash
    assert refusal(params) is TelegramLoginIncomplete


def test_a_hash_in_capitals_is_garbled():
    params = signed()
    params["hash"] = params["hash"].upper()
    assert refusal(params) is TelegramLoginIncomplete


@pytest.mark.parametrize(
    "fields",
    [
        {"first_name": "я" * 10_000},
        {"last_name": "x" * 513},
        {"photo_url": "https://t.me/i/userpic/" + "a" * 100_000},
        {"first_name": "   "},
        {"first_name": "Марія\nid=222"},  # a newline could move text between fields
        {"username": "maria\x00"},
        {f"extra_{index}": "x" for index in range(20)},
        {"a" * 33: "x"},
        {"Username": "maria"},
    ],
    ids=[
        "huge first_name",
        "long last_name",
        "huge photo_url",
        "blank first_name",
        "newline",
        "NUL",
        "too many fields",
        "long field name",
        "field name in capitals",
    ],
)
def test_absurd_values_are_refused_even_if_signed(fields):
    assert refusal(signed(**fields)) is TelegramLoginIncomplete


def test_a_repeated_field_is_refused():
    params = signed()
    query = as_query(params)
    query = query.copy()
    query.appendlist("id", "222")
    assert refusal(query) is TelegramLoginIncomplete


# --- Not configured ---------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["TELEGRAM_BOT_TOKEN", "TELEGRAM_BOT_USERNAME"])
def test_without_the_bot_configured_telegram_sign_in_is_unavailable(settings, setting):
    setattr(settings, setting, "")
    assert refusal(signed()) is TelegramLoginUnavailable


# --- The identity behind it -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_web_sign_in_keeps_the_language_the_bot_learnt():
    user = channel_identity_resolve(channel="telegram", external_id="111", display_name="Марія", language_code="en")
    proof = telegram_login_verify(signed(username="maria_iv"))

    again = channel_identity_resolve(
        channel="telegram", external_id=str(proof.telegram_id), display_name=proof.first_name, username=proof.username
    )

    identity = ChannelIdentity.objects.get(channel="telegram", external_id="111")
    assert again == user
    assert (identity.language_code, identity.username) == ("en", "maria_iv")


@pytest.mark.django_db
def test_the_bot_still_updates_the_language():
    channel_identity_resolve(channel="telegram", external_id="111", language_code="en")
    channel_identity_resolve(channel="telegram", external_id="111", language_code="uk")
    assert ChannelIdentity.objects.get(channel="telegram", external_id="111").language_code == "uk"


@pytest.mark.django_db
def test_a_first_sign_in_on_the_web_creates_the_user_without_a_language():
    proof = telegram_login_verify(signed())
    user = channel_identity_resolve(
        channel="telegram", external_id=str(proof.telegram_id), display_name=proof.first_name
    )
    assert user.channel_identities.get(channel="telegram").language_code == ""
