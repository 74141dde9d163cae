"""The bot's one-time links that sign a resident in to the web cabinet."""

import datetime as dt
import secrets

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from accounts.errors import SignInLinkExpired, SignInLinkInvalid, SignInLinkUnavailable, SignInLinkUsed
from accounts.models import SignInLink, User

# A salt of its own: nothing else signed with SECRET_KEY can pass for a sign-in link.
SIGNIN_LINK_SALT = "accounts.signin_link"
MAX_SIGNIN_TOKEN_LENGTH = 200


def signin_link_issue(*, user: User) -> str:
    """A one-time URL that signs `user` in to the web cabinet, good for SIGNIN_LINK_MAX_AGE_SECONDS."""
    if not settings.PORTAL_URL:
        raise SignInLinkUnavailable()
    link = SignInLink.objects.create(user=user, nonce=secrets.token_urlsafe(24))
    token = signing.TimestampSigner(salt=SIGNIN_LINK_SALT).sign(link.nonce)
    return settings.PORTAL_URL + reverse("signin_link", kwargs={"token": token})


def signin_link_redeem(*, token: str) -> User:
    """The user a sign-in link was issued to, once; after that the link signs no one in."""
    signer = signing.TimestampSigner(salt=SIGNIN_LINK_SALT)
    if not isinstance(token, str) or len(token) > MAX_SIGNIN_TOKEN_LENGTH:
        raise SignInLinkInvalid()
    try:
        nonce = signer.unsign(token, max_age=settings.SIGNIN_LINK_MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        raise SignInLinkExpired() from None
    except signing.BadSignature:
        raise SignInLinkInvalid() from None
    # One conditional UPDATE, not a read then a save: of two simultaneous clicks the
    # database lets only one turn used_at from NULL, so at most one of them signs in
    # (a read first would let both see the link unused).
    if not SignInLink.objects.filter(nonce=nonce, used_at__isnull=True).update(used_at=timezone.now()):
        if SignInLink.objects.filter(nonce=nonce).exists():
            raise SignInLinkUsed()
        raise SignInLinkInvalid()  # signed by us, but the row went with its user
    user = SignInLink.objects.select_related("user").get(nonce=nonce).user
    if not user.is_active:
        raise SignInLinkInvalid()  # a deactivated user stays out, whatever link they kept
    return user


def signin_links_prune(*, before: dt.datetime) -> int:
    """Forget sign-in links made before `before`: used or expired, they sign no one in."""
    deleted, _ = SignInLink.objects.filter(created_at__lt=before).delete()
    return deleted
