"""Telegram Login Widget answers: checked here before anyone is signed in, and redeemed once.

Telegram redirects the browser to our callback with the user's `id`, names,
`photo_url`, `auth_date` and a `hash`: the hex HMAC-SHA256 of the other fields
(sorted, `key=value`, joined by newlines) under sha256(bot token)
(https://core.telegram.org/widgets/login#checking-authorization).

The check is ours alone. django-telegram-login (0.2.3, its last release, February 2018)
has one too, but it raises KeyError or ValueError on a missing or garbled field (a 500
for any hand-edited URL), hard-codes a maximum age of one day and accepts an `auth_date`
from any distance in the future, and compares the hashes with `!=`, which returns sooner
the earlier they differ and so tells a patient attacker, by timing, how much of a forged
hash is right. Here the shape of every field is checked first, then the hash with
`hmac.compare_digest`, then the age against TELEGRAM_LOGIN_MAX_AGE_SECONDS.
"""

import datetime as dt
import hashlib
import hmac
import re
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction

from accounts.errors import (
    TelegramLoginForged,
    TelegramLoginIncomplete,
    TelegramLoginStale,
    TelegramLoginUnavailable,
    TelegramLoginUsed,
)
from accounts.identities import channel_identity_resolve
from accounts.models import ChannelIdentity, TelegramLoginUse, User

REQUIRED_FIELDS = ("id", "first_name", "auth_date", "hash")
# Telegram sends seven fields; a few more leave room for ones it may add (they are signed too).
MAX_FIELDS = 12
MAX_VALUE_LENGTH = 512
# Clocks differ a little: Telegram's may be a few seconds ahead of ours, but not more than this.
MAX_CLOCK_SKEW_SECONDS = 60

FIELD_NAME = re.compile(r"[a-z_]{1,32}")
TELEGRAM_ID = re.compile(r"[1-9][0-9]{0,18}")
MAX_TELEGRAM_ID = 2**63 - 1  # Telegram ids are 64-bit at most: a larger "id" is no Telegram user
UNIX_TIME = re.compile(r"[0-9]{1,12}")
HEX_HASH = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class TelegramLogin:
    """Who Telegram says signed in; `username` is "" when they have none.

    `hash` and `signed_at` (Telegram's auth_date) identify this one answer, which signs in
    once (telegram_login_redeem); they are no part of who signed in.
    """

    telegram_id: int
    first_name: str
    username: str
    hash: str = field(default="", compare=False, repr=False)
    signed_at: int = field(default=0, compare=False)


def telegram_login_verify(params: Mapping[str, str]) -> TelegramLogin:
    """The Telegram user of a Login Widget redirect, or a DomainError saying why not."""
    bot_token = settings.TELEGRAM_BOT_TOKEN
    if not (bot_token and settings.TELEGRAM_BOT_USERNAME):
        raise TelegramLoginUnavailable()
    fields = _fields(params)
    if not hmac.compare_digest(_expected_hash(bot_token, fields), fields["hash"]):
        raise TelegramLoginForged()
    age = int(time.time()) - int(fields["auth_date"])
    if age > settings.TELEGRAM_LOGIN_MAX_AGE_SECONDS or age < -MAX_CLOCK_SKEW_SECONDS:
        # A date ahead of our clock is no proof of freshness either: one clock is wrong.
        raise TelegramLoginStale()
    return TelegramLogin(
        telegram_id=int(fields["id"]),
        first_name=fields["first_name"],
        username=fields.get("username", ""),
        hash=fields["hash"],
        signed_at=int(fields["auth_date"]),
    )


def _fields(params: Mapping[str, str]) -> dict[str, str]:
    """The received fields as a plain dict, refused unless every one has the shape Telegram sends."""
    if len(params) > MAX_FIELDS or any(field not in params for field in REQUIRED_FIELDS):
        raise TelegramLoginIncomplete()
    fields = {}
    for name in params:
        # A repeated key is not something Telegram sends: someone edited the URL.
        values = params.getlist(name) if hasattr(params, "getlist") else [params[name]]
        if not (isinstance(name, str) and FIELD_NAME.fullmatch(name) and len(values) == 1):
            raise TelegramLoginIncomplete()
        value = values[0]
        # A newline in a value could make two different sets of fields one data-check-string.
        if not isinstance(value, str) or len(value) > MAX_VALUE_LENGTH or _has_control_characters(value):
            raise TelegramLoginIncomplete()
        fields[name] = value
    if not (
        TELEGRAM_ID.fullmatch(fields["id"])
        and int(fields["id"]) <= MAX_TELEGRAM_ID
        and UNIX_TIME.fullmatch(fields["auth_date"])
        and HEX_HASH.fullmatch(fields["hash"])
        and fields["first_name"].strip()
    ):
        raise TelegramLoginIncomplete()
    return fields


def _has_control_characters(value: str) -> bool:
    return any(unicodedata.category(char) == "Cc" for char in value)


def _expected_hash(bot_token: str, fields: Mapping[str, str]) -> str:
    data_check_string = "\n".join(f"{name}={value}" for name, value in sorted(fields.items()) if name != "hash")
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, data_check_string.encode(), hashlib.sha256).hexdigest()


def telegram_login_redeem(*, proof: TelegramLogin) -> User:
    """The user of a verified Login Widget answer, once: the same answer again is refused."""
    try:
        with transaction.atomic():
            TelegramLoginUse.objects.create(
                hash=proof.hash, signed_at=dt.datetime.fromtimestamp(proof.signed_at, tz=dt.UTC)
            )
    except IntegrityError:
        raise TelegramLoginUsed() from None
    return channel_identity_resolve(
        channel=ChannelIdentity.Channel.TELEGRAM,
        external_id=str(proof.telegram_id),
        display_name=proof.first_name,
        username=proof.username,
        in_bot=False,
    )


def telegram_logins_prune(*, before: dt.datetime) -> int:
    """Forget used widget answers signed before `before`: by then they are refused as stale anyway."""
    deleted, _ = TelegramLoginUse.objects.filter(signed_at__lt=before).delete()
    return deleted
