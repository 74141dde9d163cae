"""Residents' own accounts in the portal: signing up with an email, and what a new password ends."""

from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q

from accounts.errors import EmailInvalid, EmailTaken
from accounts.login_attempts import signin_attempts_reset
from accounts.models import User
from accounts.tokens import api_tokens_revoke


def user_register(*, email: str, password: str) -> User:
    """A resident who signs up with an email address and a password; the email is their login."""
    email = BaseUserManager.normalize_email(str(email or "").strip()).lower()
    try:
        validate_email(email)
    except ValidationError:
        raise EmailInvalid(email=email[:254]) from None
    if User.objects.filter(Q(username__iexact=email) | Q(email__iexact=email)).exists():
        raise EmailTaken(email=email)
    try:
        with transaction.atomic():
            return User.objects.create_user(username=email, email=email, password=password)
    except IntegrityError:
        raise EmailTaken(email=email) from None


def user_password_changed(*, user: User) -> None:
    """What a new password ends, whichever way it was set: every API token of the user, and any
    lock on their account name (a resident who reset the password is not kept out by a guesser).

    Called by accounts.passwords.PasswordChangedHook, which Django runs on every saved
    set_password(): the cabinet's reset, admin, `manage.py changepassword`, the shell.
    """
    api_tokens_revoke(user=user)
    signin_attempts_reset(username=user.get_username())
