"""A resident's email address as a channel of reminders and notices: adding or changing it, and
the link that confirms it.

Reminders and notices go only to a confirmed address: one the resident proved they read by
opening the link sent there. The link is signed (django.core.signing, a salt of its own) and
carries the user and the address it was sent to, so it works signed in or not, for
EMAIL_CONFIRM_MAX_AGE_DAYS, and stops working when the address changes. The database keeps only
when the last link went out, to send them a minute apart.
"""

import datetime as dt
import logging
import math
import smtplib

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.errors import (
    EmailConfirmExpired,
    EmailConfirmInvalid,
    EmailConfirmStale,
    EmailConfirmTooSoon,
    EmailInUse,
    EmailInvalid,
    EmailMissing,
    EmailNotSent,
    EmailPasswordWrong,
    EmailUnavailable,
)
from accounts.models import User

logger = logging.getLogger(__name__)

# A salt of its own: nothing else signed with SECRET_KEY (a sign-in link) can pass for this link.
CONFIRM_SALT = "accounts.email_confirm"
MAX_TOKEN_LENGTH = 400
# A resident may ask for a new link this long after the last one: enough to stop a script from
# flooding an inbox through the button, short enough for someone whose email went to spam.
RESEND_SECONDS = 60


def email_language(user: User) -> str:
    """The language a resident's emails are written in: their cabinet's, Ukrainian until they chose."""
    return user.language if user.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def email_normalize(raw: str) -> str:
    """An address as the cabinet stores it (lower case, as a sign-up stores it), or EmailInvalid."""
    email = BaseUserManager.normalize_email(str(raw or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise EmailInvalid(email=email[:254]) from None
    return email


def email_is_login(user: User) -> bool:
    """Whether the resident signs in with their address (they signed up with it)."""
    return bool(user.email) and user.has_usable_password() and user.username.lower() == user.email.lower()


def user_email_set(*, user: User, email: str, password: str = "", language: str = "") -> User:
    """Add or change the user's address; it needs confirming again (email_confirmation_send).

    A resident who signs in with the address changes their login with it, and only with their
    current password: someone who found the cabinet open must not take the account over by
    moving it to an address of their own. Residents who came from a bot have no login address:
    theirs is only where reminders go.
    """
    email = email_normalize(email)
    if email == user.email.lower():
        return user
    if User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exclude(pk=user.pk).exists():
        raise EmailInUse(email=email)
    changes = {"email": email, "email_verified_at": None, "email_confirmation_sent_at": None}
    if email_is_login(user):
        if not user.check_password(password or ""):
            raise EmailPasswordWrong()
        changes["username"] = email
    if language in dict(settings.LANGUAGES):
        changes["language"] = language
    for field, value in changes.items():
        setattr(user, field, value)
    try:
        with transaction.atomic():
            user.save(update_fields=list(changes))
    except IntegrityError:
        raise EmailInUse(email=email) from None  # another account took it as its login a moment ago
    return user


def user_language_set(*, user: User, language: str) -> None:
    """Remember the cabinet's language the resident chose: their emails are written in it."""
    if language in dict(settings.LANGUAGES) and user.language != language:
        User.objects.filter(pk=user.pk).update(language=language)
        user.language = language


def email_confirm_link(*, user: User) -> str:
    token = signing.TimestampSigner(salt=CONFIRM_SALT).sign_object({"user": user.pk, "email": user.email.lower()})
    return settings.PORTAL_URL + reverse("email_confirm", kwargs={"token": token})


def email_confirmation_send(*, user: User) -> None:
    """Send the link that confirms the user's address, at most one a minute."""
    if not (settings.EMAIL_CHANNEL and settings.PORTAL_URL):
        raise EmailUnavailable()
    if not user.email:
        raise EmailMissing()
    now = timezone.now()
    previous = User.objects.values_list("email_confirmation_sent_at", flat=True).get(pk=user.pk)
    # One conditional UPDATE: of two presses at once (two tabs, a double tap) only one sends.
    spaced = Q(email_confirmation_sent_at__isnull=True) | Q(
        email_confirmation_sent_at__lte=now - dt.timedelta(seconds=RESEND_SECONDS)
    )
    if not User.objects.filter(spaced, pk=user.pk).update(email_confirmation_sent_at=now):
        sent_at = User.objects.values_list("email_confirmation_sent_at", flat=True).get(pk=user.pk)
        wait = math.ceil((sent_at + dt.timedelta(seconds=RESEND_SECONDS) - now).total_seconds())
        raise EmailConfirmTooSoon(email=user.email, seconds=max(1, wait))
    try:
        with translation.override(email_language(user)):
            send_mail(*_confirmation_letter(user), from_email=None, recipient_list=[user.email])
    except (smtplib.SMTPException, OSError) as error:
        logger.warning("the confirmation email to user %s was not sent: %r", user.pk, error)
        # Not sent, so not counted: the resident may press again at once.
        User.objects.filter(pk=user.pk, email_confirmation_sent_at=now).update(email_confirmation_sent_at=previous)
        raise EmailNotSent(email=user.email) from None
    user.email_confirmation_sent_at = now


def _confirmation_letter(user: User) -> tuple[str, str]:
    subject = _("Pokaznyk: confirm your email address")
    body = _(
        "Hello!\n\n"
        "Open this link to confirm {email} as your address in Pokaznyk, the cabinet for meter readings. "
        "Window reminders and staff's decisions about your readings will then come here.\n\n"
        "{link}\n\n"
        "The link works for {days} days. If you did not ask for it, ignore this email: nothing changes "
        "without the link."
    ).format(email=user.email, link=email_confirm_link(user=user), days=settings.EMAIL_CONFIRM_MAX_AGE_DAYS)
    return subject, body


def email_confirm(*, token: str) -> User:
    """The user whose address the link confirms, now confirmed; a refusal that says what to do."""
    if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
        raise EmailConfirmInvalid()
    signer = signing.TimestampSigner(salt=CONFIRM_SALT)
    max_age = dt.timedelta(days=settings.EMAIL_CONFIRM_MAX_AGE_DAYS)
    try:
        sent = signer.unsign_object(token, max_age=max_age)
    except signing.SignatureExpired:
        # An old link opened again after it did its work: the address stands confirmed, say so.
        user = _addressee(signer.unsign_object(token))
        if user is not None and user.email_verified_at is not None:
            return user
        raise EmailConfirmExpired(days=settings.EMAIL_CONFIRM_MAX_AGE_DAYS) from None
    except signing.BadSignature:
        raise EmailConfirmInvalid() from None
    user = _addressee(sent)
    if user is None:
        raise EmailConfirmStale() if _user_exists(sent) else EmailConfirmInvalid()
    # Conditional: a second click changes nothing, and a change of address between the check
    # above and this write leaves the new address unconfirmed.
    User.objects.filter(pk=user.pk, email__iexact=sent["email"], email_verified_at__isnull=True).update(
        email_verified_at=timezone.now()
    )
    user.refresh_from_db(fields=["email_verified_at"])
    return user


def _addressee(sent: object) -> User | None:
    """The active user the link was sent to, while they still have the address it was sent to."""
    if not (isinstance(sent, dict) and isinstance(sent.get("user"), int) and isinstance(sent.get("email"), str)):
        return None
    return User.objects.filter(pk=sent["user"], email__iexact=sent["email"], is_active=True).first()


def _user_exists(sent: object) -> bool:
    if not (isinstance(sent, dict) and isinstance(sent.get("user"), int)):
        return False
    return User.objects.filter(pk=sent["user"], is_active=True).exists()
