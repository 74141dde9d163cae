"""Reads of accounts that more than one channel needs."""

from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from knox.models import AuthToken

from accounts.errors import NotLinked
from accounts.models import AccountLink, ChannelIdentity, Meter, PersonalAccount, User


def linked_accounts(*, user: User) -> QuerySet[PersonalAccount]:
    """The user's linked accounts, each with its active meters."""
    active_meters = Meter.objects.filter(is_active=True).order_by("serial")
    return (
        PersonalAccount.objects.filter(links__user=user)
        .prefetch_related(Prefetch("meters", queryset=active_meters, to_attr="active_meters"))
        .order_by("number")
    )


def linked_account(*, user: User, number: str) -> PersonalAccount:
    """One of the user's accounts; someone else's account is simply not linked."""
    account = linked_accounts(user=user).filter(number=number).first()
    if account is None:
        raise NotLinked(number=number)
    return account


def account_link_get(*, user: User, number: str) -> AccountLink:
    link = AccountLink.objects.filter(user=user, account__number=number).select_related("account").first()
    if link is None:
        raise NotLinked(number=number)
    return link


def linked_account_numbers(*, user: User) -> list[str]:
    return list(PersonalAccount.objects.filter(links__user=user).order_by("number").values_list("number", flat=True))


def account_links(*, user: User) -> list[AccountLink]:
    return list(AccountLink.objects.filter(user=user).select_related("account").order_by("account__number"))


def api_tokens(*, user: User) -> list[AuthToken]:
    """The user's live API tokens, newest first; each shows only its first characters."""
    return list(AuthToken.objects.filter(user=user, expiry__gt=timezone.now()).order_by("-created"))


def channel_identity_of(*, user: User, channel: str) -> ChannelIdentity | None:
    """The user's identity on a channel (a user has at most one per channel), or None."""
    return ChannelIdentity.objects.filter(user=user, channel=channel).first()


def channel_identity_get(*, channel: str, external_id: str) -> ChannelIdentity | None:
    """The identity of a person on a channel by their id there, or None."""
    return ChannelIdentity.objects.filter(channel=channel, external_id=external_id).first()


def account_meters_active(*, account_id: int) -> list[Meter]:
    """The account's active meters in the order every channel lists them (by serial)."""
    return list(
        Meter.objects.filter(account_id=account_id, is_active=True).select_related("account").order_by("serial")
    )
