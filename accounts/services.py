"""The one write path for accounts, meters and links."""

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from accounts.errors import (
    AccountNotFound,
    AccountNumberInvalid,
    AlreadyLinked,
    MeterMismatch,
    MeterSerialInvalid,
    NotLinked,
    TooManyAttempts,
)
from accounts.models import AccountLink, LinkAttempt, Meter, PersonalAccount, TelegramIdentity, User

MAX_SERIAL_LENGTH = 32


def account_number_normalize(raw: str) -> str:
    """Digits only; the spaces and dashes a bill prints between groups are dropped."""
    number = "".join(str(raw or "").split()).replace("-", "")
    low, high = settings.ACCOUNT_NUMBER_LENGTH
    if not (number.isascii() and number.isdigit() and low <= len(number) <= high):
        raise AccountNumberInvalid(min_length=low, max_length=high)
    return number


def meter_serial_normalize(raw: str) -> str:
    """Upper case without spaces, so "ab 123" typed on a phone finds serial AB123."""
    serial = "".join(str(raw or "").split()).upper()
    if not (0 < len(serial) <= MAX_SERIAL_LENGTH and serial.replace("-", "").isalnum()):
        raise MeterSerialInvalid()
    return serial


def account_link(*, user: User, account_number: str, meter_serial: str) -> AccountLink:
    """Link `user` to an account they prove by the serial of one of its active meters."""
    number = account_number_normalize(account_number)
    serial = meter_serial_normalize(meter_serial)
    _check_link_attempts(user)
    account = PersonalAccount.objects.filter(number=number, is_active=True).first()
    if account is None:
        _record_failed_attempt(user, number)
        raise AccountNotFound(number=number)
    if not account.meters.filter(serial=serial, is_active=True).exists():
        _record_failed_attempt(user, number)
        raise MeterMismatch(number=number, serial=serial)
    try:
        with transaction.atomic():
            return AccountLink.objects.create(user=user, account=account)
    except IntegrityError:
        raise AlreadyLinked(number=number) from None


def _check_link_attempts(user: User) -> None:
    since = timezone.now() - dt.timedelta(seconds=settings.LINK_ATTEMPTS_PERIOD_SECONDS)
    attempts = list(
        LinkAttempt.objects.filter(user=user, attempted_at__gte=since)
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)[: settings.LINK_ATTEMPTS_MAX]
    )
    if len(attempts) >= settings.LINK_ATTEMPTS_MAX:
        # Free again when the oldest of the counted attempts leaves the period.
        retry_at = attempts[-1] + dt.timedelta(seconds=settings.LINK_ATTEMPTS_PERIOD_SECONDS)
        seconds = max(1, (retry_at - timezone.now()).total_seconds())
        raise TooManyAttempts(minutes=math.ceil(seconds / 60), retry_after=math.ceil(seconds))


def _record_failed_attempt(user: User, number: str) -> None:
    LinkAttempt.objects.create(user=user, account_number=number, attempted_at=timezone.now())


def account_unlink(*, user: User, account_number: str) -> None:
    number = account_number_normalize(account_number)
    deleted, _ = AccountLink.objects.filter(user=user, account__number=number).delete()
    if not deleted:
        raise NotLinked(number=number)


def account_link_reminders_set(*, user: User, account_number: str, enabled: bool) -> AccountLink:
    """Turn window reminders for one of the user's accounts on or off."""
    number = account_number_normalize(account_number)
    updated = AccountLink.objects.filter(user=user, account__number=number).update(reminders_enabled=enabled)
    if not updated:
        raise NotLinked(number=number)
    return AccountLink.objects.select_related("account").get(user=user, account__number=number)


def api_token_issue(*, user: User) -> str:
    """The user's API token, made on first request; the same one until revoked."""
    token, _created = Token.objects.get_or_create(user=user)
    return token.key


def api_token_revoke(*, user: User) -> None:
    Token.objects.filter(user=user).delete()


def telegram_identity_resolve(
    *, telegram_id: int, first_name: str = "", username: str = "", language_code: str = ""
) -> User:
    """The portal user of a Telegram user, created on first contact; always the same one."""
    profile = {"first_name": first_name[:128], "username": (username or "")[:64], "language_code": language_code[:16]}
    identity = TelegramIdentity.objects.select_related("user").filter(telegram_id=telegram_id).first()
    if identity is None:
        try:
            with transaction.atomic():
                user = User(username=f"tg{telegram_id}", first_name=first_name[:150])
                user.set_unusable_password()
                user.save()
                return TelegramIdentity.objects.create(user=user, telegram_id=telegram_id, **profile).user
        except IntegrityError:
            # Two first updates of one user raced; the other one created the identity.
            identity = TelegramIdentity.objects.select_related("user").get(telegram_id=telegram_id)
    changed = {field: value for field, value in profile.items() if getattr(identity, field) != value}
    if changed or identity.blocked_at:
        # Writing to the user is possible again: an update from them means they are back.
        TelegramIdentity.objects.filter(pk=identity.pk).update(blocked_at=None, **changed)
    return identity.user


def telegram_identity_block(*, telegram_id: int, blocked: bool) -> None:
    """Record that the user blocked the bot (or unblocked it)."""
    TelegramIdentity.objects.filter(telegram_id=telegram_id).update(blocked_at=timezone.now() if blocked else None)


@dataclass(frozen=True)
class MasterDataRow:
    """One validated row of the master-data CSV: an account and one of its meters."""

    account_number: str
    meter_serial: str
    zones: int
    digits: int
    address: str = ""
    holder_name: str = ""
    eic: str = ""
    initial_values: tuple[int, ...] = ()


def master_data_import(*, rows: Iterable[MasterDataRow], batch_size: int = 2000) -> int:
    """Upsert accounts and meters from validated rows, in batches, all or nothing.

    Memory stays bounded by the batch size, whatever the number of rows. Returns
    the number of rows imported.
    """
    imported = 0
    with transaction.atomic():
        batch: list[MasterDataRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                imported += _import_batch(batch)
                batch = []
        if batch:
            imported += _import_batch(batch)
    return imported


def _import_batch(batch: Sequence[MasterDataRow]) -> int:
    # The last row of an account wins for the account's own fields, as in a re-import.
    accounts = {
        row.account_number: PersonalAccount(
            number=row.account_number, address=row.address, holder_name=row.holder_name, eic=row.eic
        )
        for row in batch
    }
    PersonalAccount.objects.bulk_create(
        accounts.values(),
        update_conflicts=True,
        unique_fields=["number"],
        update_fields=["address", "holder_name", "eic", "updated_at"],
    )
    ids = dict(PersonalAccount.objects.filter(number__in=accounts).values_list("number", "id"))
    meters = {
        (row.account_number, row.meter_serial): Meter(
            account_id=ids[row.account_number],
            serial=row.meter_serial,
            zones=row.zones,
            digits=row.digits,
            initial_values=list(row.initial_values),
        )
        for row in batch
    }
    Meter.objects.bulk_create(
        meters.values(),
        update_conflicts=True,
        unique_fields=["account", "serial"],
        update_fields=["zones", "digits", "initial_values"],
    )
    return len(batch)


def meter_replace(
    *,
    meter: Meter,
    new_serial: str,
    zones: int,
    digits: int,
    initial_values: Sequence[int],
    replaced_on: dt.date,
) -> Meter:
    """Close `meter` on `replaced_on` and install a new one; the old one keeps its readings."""
    serial = meter_serial_normalize(new_serial)
    with transaction.atomic():
        old = Meter.objects.select_for_update().get(pk=meter.pk)
        old.is_active = False
        old.removed_on = replaced_on
        old.full_clean()
        old.save(update_fields=["is_active", "removed_on"])
        new = Meter(
            account=old.account,
            serial=serial,
            zones=zones,
            digits=digits,
            initial_values=list(initial_values),
            installed_on=replaced_on,
        )
        new.full_clean()
        new.save()
    return new
