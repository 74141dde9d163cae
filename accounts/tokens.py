"""API tokens (django-rest-knox): issued, revoked, pruned."""

import datetime as dt

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from knox.auth import TokenAuthentication as KnoxTokenAuthentication
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


class TokenAuthentication(KnoxTokenAuthentication):
    """Knox's token check in one query. Knox, on every request, also reads all the user's tokens
    to delete their expired ones; here an expired token is refused (and deleted) by itself, and
    the others are left to api_token_issue and api_tokens_prune. Every request still reads its
    token from the database, so a revoked token stops working at once."""

    def _cleanup_token(self, auth_token: AuthToken) -> bool:
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False
