"""API tokens (django-rest-knox): issued, revoked, pruned."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from accounts.models import User


def api_token_issue(*, user: User) -> tuple[AuthToken, str]:
    """A new API token for `user` and its key, good for API_TOKEN_TTL_DAYS.

    Only a hash of the key is stored: it is shown this once. Past API_TOKENS_PER_USER
    the user's oldest tokens are revoked, so a script asking for a token on every run
    cannot pile up live ones.
    """
    with transaction.atomic():
        AuthToken.objects.filter(user=user, expiry__lt=timezone.now()).delete()
        token, key = AuthToken.objects.create(user=user)
        surplus = AuthToken.objects.filter(user=user).order_by("-created")[settings.API_TOKENS_PER_USER :]
        AuthToken.objects.filter(digest__in=list(surplus.values_list("digest", flat=True))).delete()
    return token, key


def api_token_revoke(*, user: User, digest: str) -> bool:
    """Revoke one of the user's tokens; someone else's token is left alone."""
    deleted, _ = AuthToken.objects.filter(user=user, digest=digest).delete()
    return bool(deleted)


def api_tokens_revoke(*, user: User) -> int:
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def api_tokens_prune(*, now: dt.datetime) -> int:
    """Forget expired tokens: they authenticate no one."""
    deleted, _ = AuthToken.objects.filter(expiry__lt=now).delete()
    return deleted
