"""Telegram sign-ins for tests: Login Widget answers signed as Telegram signs them, and bot sign-in links."""

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import urlsplit

from django.urls import resolve

DEFAULT_TELEGRAM_ID = 111  # the bot tests' resident, so a web sign-in finds the same person


def signed_telegram_login(
    *, bot_token: str, telegram_id: int = DEFAULT_TELEGRAM_ID, auth_date: int | None = None, **fields: str | None
) -> dict[str, str]:
    """The GET parameters of Telegram's redirect: `fields`, id, auth_date (now by default) and a valid hash.

    `first_name` is "Марія" unless given; a field given as None is left out (`id=None` too).
    """
    payload = {
        "id": str(telegram_id),
        "first_name": "Марія",
        "auth_date": str(int(time.time()) if auth_date is None else auth_date),
        **fields,
    }
    payload = {name: str(value) for name, value in payload.items() if value is not None}
    return {**payload, "hash": telegram_login_hash(bot_token=bot_token, fields=payload)}


def telegram_login_hash(*, bot_token: str, fields: Mapping[str, str]) -> str:
    """Telegram's hash of `fields`: HMAC-SHA256 of the sorted key=value lines under sha256(token)."""
    data_check_string = "\n".join(f"{name}={value}" for name, value in sorted(fields.items()) if name != "hash")
    secret = hashlib.sha256(bot_token.encode()).digest()
    return hmac.new(secret, data_check_string.encode(), hashlib.sha256).hexdigest()


def signin_link_token(url: str) -> str:
    """The token in a sign-in link the bot sent; the URL must lead to the sign-in link page."""
    match = resolve(urlsplit(url).path)
    assert match.url_name == "signin_link", url
    return match.kwargs["token"]
