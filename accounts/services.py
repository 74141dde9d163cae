"""The one write path for accounts, meters and links."""

import datetime as dt
import hashlib
import io
import math
import secrets
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.base_user import BaseUserManager
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from knox.models import AuthToken

from accounts.errors import (
    AccountMeterMismatch,
    AccountNumberInvalid,
    AlreadyLinked,
    EmailInvalid,
    EmailTaken,
    MeterSerialInvalid,
    NotLinked,
    SignInLinkExpired,
    SignInLinkInvalid,
    SignInLinkUnavailable,
    SignInLinkUsed,
    TelegramLoginUsed,
    TooManyAttempts,
    UploadAlreadyImported,
    UploadHasBadRows,
    UploadTooLarge,
    UploadUnreadable,
)
from accounts.login_attempts import signin_attempts_reset
from accounts.models import (
    AccountLink,
    ChannelIdentity,
    LinkAttempt,
    MasterDataUpload,
    Meter,
    PersonalAccount,
    SignInLink,
    TelegramLoginUse,
    User,
)
from accounts.telegram_login import TelegramLogin
from portal.clientip import address_network

MAX_SERIAL_LENGTH = 32


# Cyrillic capitals drawn like Latin ones: on a Ukrainian keyboard "АВ123" looks exactly like the
# "AB123" printed on the meter. Serials are upper-cased first, so lower case is covered too.
_LATIN_LOOKALIKES = str.maketrans("АВЕКМНОРСТХІУ", "ABEKMHOPCTXIY")


def account_number_normalize(raw: str) -> str:
    """Digits only; the spaces and dashes a bill prints between groups are dropped.

    NFKC and the digit folding read what phone keyboards send: full-width "１２３" and
    other scripts' decimal digits become ASCII ones.
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    number = _ascii_digits("".join(text.split()).replace("-", ""))
    low, high = settings.ACCOUNT_NUMBER_LENGTH
    if not (number.isascii() and number.isdigit() and low <= len(number) <= high):
        raise AccountNumberInvalid(min_length=low, max_length=high)
    return number


def meter_serial_normalize(raw: str) -> str:
    """Upper case without spaces, so "ab 123" typed on a phone finds serial AB123.

    Full-width characters become ASCII (NFKC) and Cyrillic letters that look like Latin
    ones become those Latin letters. The import stores serials through this function
    too, so what is typed and what is stored meet.
    """
    text = unicodedata.normalize("NFKC", str(raw or ""))
    serial = _ascii_digits("".join(text.split()).upper()).translate(_LATIN_LOOKALIKES)
    if not (0 < len(serial) <= MAX_SERIAL_LENGTH and serial.replace("-", "").isalnum()):
        raise MeterSerialInvalid()
    return serial


def _ascii_digits(text: str) -> str:
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)


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


def account_link(*, user: User, account_number: str, meter_serial: str, ip_address: str | None = None) -> AccountLink:
    """Link `user` to an account they prove by the serial of one of its active meters.

    `ip_address` is the client's address on the web and in the API (the bot has none):
    failed attempts count against it too.
    """
    meter = account_meter_prove(
        account_number=account_number, meter_serial=meter_serial, user=user, ip_address=ip_address
    )
    try:
        with transaction.atomic():
            return AccountLink.objects.create(user=user, account=meter.account)
    except IntegrityError:
        raise AlreadyLinked(number=meter.account.number) from None


# Anonymous requests without a readable address share one budget: without one, each would be unlimited.
UNKNOWN_NETWORK = "unknown"


@dataclass(frozen=True, eq=False)  # hashed by identity: a key of the counts below
class _AttemptLimit:
    """One budget of failed attempts: whose, the rows it counts, how many per period."""

    key: str
    rows: dict
    limit: int
    own: bool  # the requester's own budget (user, address): its tries left are told to them


def account_meter_prove(
    *, account_number: str, meter_serial: str, user: User | None = None, ip_address: str | None = None
) -> Meter:
    """The active meter that an account number and a meter serial prove, or a refusal.

    A wrong account number and a wrong serial get the same answer (AccountMeterMismatch)
    after the same queries, so a guess does not tell whether an account exists. Failed
    attempts are limited per user (LINK_ATTEMPTS_MAX), per client address
    (LINK_ATTEMPTS_PER_ADDRESS, signed in or not) and per account number typed
    (LINK_ATTEMPTS_PER_ACCOUNT), all in the database, so they hold without Redis.

    Call it outside a transaction: the refusal would roll back the recorded attempt.
    """
    number = account_number_normalize(account_number)
    serial = meter_serial_normalize(meter_serial)
    address = address_network(ip_address)
    network = address or (UNKNOWN_NETWORK if user is None else "")
    limits = _link_attempt_limits(user=user, network=network, number=number)

    def find() -> Meter | None:
        return (
            Meter.objects.filter(account__number=number, account__is_active=True, serial=serial, is_active=True)
            .select_related("account")
            .first()
        )

    attempt = LinkAttempt(user=user, ip_address=ip_address if address else None, network=network)
    return _prove(number=number, shown_serial=serial, limits=limits, find=find, attempt=attempt)


def account_meter_prove_by_phone(*, account_number: str, serial_digits: str, caller: str) -> Meter:
    """The active meter that an account number and the digits of a meter serial prove, or a refusal.

    The phone menu's keypad has no letters: the caller types the serial's digits and skips
    its letters ("AB-0123456" is 0123456). Failed attempts count as account_meter_prove
    counts them, the caller's number standing for the client's address, with the same limit
    (LINK_ATTEMPTS_PER_ADDRESS); callers who hide their number share one budget.
    """
    number = account_number_normalize(account_number)
    digits = _ascii_digits(str(serial_digits or "").strip())
    if not (digits.isascii() and digits.isdigit() and len(digits) <= MAX_SERIAL_LENGTH):
        raise MeterSerialInvalid()
    caller = phone_caller_key(caller)
    limits = _link_attempt_limits(user=None, network="", number=number, caller=caller)

    def find() -> Meter | None:
        # All the number's meters in one query whether the number or the serial is wrong; the
        # letters are left out in Python (an account has a handful of meters).
        meters = Meter.objects.filter(account__number=number, account__is_active=True, is_active=True)
        matching = [m for m in meters.select_related("account").order_by("serial") if serial_digits_of(m) == digits]
        return matching[0] if matching else None

    return _prove(number=number, shown_serial=digits, limits=limits, find=find, attempt=LinkAttempt(caller=caller))


def serial_digits_of(meter: Meter) -> str:
    """A meter's serial as the phone menu's callers type it: its digits only."""
    return "".join(char for char in meter.serial if char.isdigit())


# Callers whose number the exchange does not pass share one budget: without one, each would be unlimited.
UNKNOWN_CALLER = "unknown"


def phone_caller_key(raw: str) -> str:
    """The caller's number as the attempt limit and a phone reading record it: "+" and digits."""
    text = str(raw or "").strip()
    digits = "".join(char for char in text if char.isascii() and char.isdigit())
    if not digits:
        return UNKNOWN_CALLER
    return ("+" if text.startswith("+") else "") + digits[:32]


def _prove(
    *,
    number: str,
    shown_serial: str,
    limits: list[_AttemptLimit],
    find: Callable[[], Meter | None],
    attempt: LinkAttempt,
) -> Meter:
    with transaction.atomic():
        # Without the lock, N concurrent wrong guesses would all count the same attempts
        # before any of them is recorded and all be let through: the limit would be N.
        # PostgreSQL: advisory locks on the budgets' keys; SQLite: BEGIN IMMEDIATE
        # (settings) already takes the database's write lock when this block opens.
        _link_attempts_lock(limits)
        now = timezone.now()
        recent = {limit: _recent_attempts(limit, now) for limit in limits}
        _refuse_when_spent(recent, now)
        # One query whether the number or the serial is wrong: the same work, the same time.
        meter = find()
        if meter is not None:
            return meter
        attempt.account_number, attempt.attempted_at = number, now
        attempt.save(force_insert=True)
    raise AccountMeterMismatch(number=number, serial=shown_serial, **_attempts_left(recent, now))


def _link_attempt_limits(*, user: User | None, network: str, number: str, caller: str = "") -> list[_AttemptLimit]:
    # The account number as typed, whether it exists or not: limiting only real ones
    # would make the limit itself tell which exist.
    limits = [_AttemptLimit(f"number:{number}", {"account_number": number}, settings.LINK_ATTEMPTS_PER_ACCOUNT, False)]
    if user is not None:
        limits.append(_AttemptLimit(f"user:{user.pk}", {"user": user}, settings.LINK_ATTEMPTS_MAX, True))
    if network:
        limits.append(
            _AttemptLimit(f"network:{network}", {"network": network}, settings.LINK_ATTEMPTS_PER_ADDRESS, True)
        )
    if caller:
        limits.append(_AttemptLimit(f"caller:{caller}", {"caller": caller}, settings.LINK_ATTEMPTS_PER_ADDRESS, True))
    return limits


def _link_attempts_lock(limits: Sequence[_AttemptLimit]) -> None:
    """Hold PostgreSQL's transaction-level advisory locks on the budgets' keys until commit.

    Taken in ascending key order, so two requests sharing two budgets cannot each hold
    one and wait for the other. A hash collision only makes unrelated requests wait.
    """
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        int.from_bytes(
            hashlib.blake2b(f"link_attempts:{limit.key}".encode(), digest_size=8).digest(), "big", signed=True
        )
        for limit in limits
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])


def _recent_attempts(limit: _AttemptLimit, now: dt.datetime) -> list[dt.datetime]:
    """The budget's newest failed attempts in the period, newest first, at most `limit` of them."""
    since = now - dt.timedelta(seconds=settings.LINK_ATTEMPTS_PERIOD_SECONDS)
    return list(
        LinkAttempt.objects.filter(**limit.rows, attempted_at__gt=since)
        .order_by("-attempted_at")
        .values_list("attempted_at", flat=True)[: limit.limit]
    )


def _refuse_when_spent(recent: dict[_AttemptLimit, list[dt.datetime]], now: dt.datetime) -> None:
    # A budget is free again when the oldest of its counted attempts leaves the period;
    # with several spent, the latest of those moments.
    retry_at = [stamps[-1] for limit, stamps in recent.items() if len(stamps) >= limit.limit]
    if retry_at:
        raise TooManyAttempts(**_retry_in(max(retry_at), now))


def _attempts_left(recent: dict[_AttemptLimit, list[dt.datetime]], now: dt.datetime) -> dict:
    """How many more failures the requester's own budgets allow, counting the one just made.

    The per-account budget is left out: how many others failed on a number lately would
    hint that it is a real one.
    """
    left = {limit: limit.limit - len(stamps) - 1 for limit, stamps in recent.items() if limit.own}
    fewest = min(left.values())
    if fewest > 0:
        return {"attempts_left": fewest}
    spent = [[now, *recent[limit]][limit.limit - 1] for limit, count in left.items() if count <= 0]
    return {"attempts_left": 0, **_retry_in(max(spent), now)}


def _retry_in(oldest: dt.datetime, now: dt.datetime) -> dict:
    seconds = max(
        1, math.ceil((oldest + dt.timedelta(seconds=settings.LINK_ATTEMPTS_PERIOD_SECONDS) - now).total_seconds())
    )
    return {"minutes": math.ceil(seconds / 60), "retry_after": seconds}


def account_unlink(*, user: User, account_number: str) -> None:
    number = account_number_normalize(account_number)
    deleted, _ = AccountLink.objects.filter(user=user, account__number=number).delete()
    if not deleted:
        raise NotLinked(number=number)


def account_link_reminders_set(*, user: User, account_number: str, enabled: bool) -> AccountLink:
    """Turn window reminders for one of the user's accounts on or off."""
    number = account_number_normalize(account_number)
    link = AccountLink.objects.select_related("account").filter(user=user, account__number=number).first()
    if link is None:
        raise NotLinked(number=number)
    if link.reminders_enabled != enabled:
        link.reminders_enabled = enabled
        link._history_user = user
        link.save(update_fields=["reminders_enabled"])
    return link


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


def user_password_changed(*, user: User) -> None:
    """What a new password ends, whichever way it was set: every API token of the user, and any
    lock on their account name (a resident who reset the password is not kept out by a guesser).

    Called by accounts.passwords.PasswordChangedHook, which Django runs on every saved
    set_password(): the cabinet's reset, admin, `manage.py changepassword`, the shell.
    """
    api_tokens_revoke(user=user)
    signin_attempts_reset(username=user.get_username())


# The portal username of a user first met on a channel; Telegram's keeps the "tg" it always had.
USERNAME_PREFIX = {"telegram": "tg", "viber": "vb", "messenger": "fb"}


# `messaged_at` is written again only when it is older than this: not a write per message.
MESSAGED_AT_PRECISION = dt.timedelta(minutes=1)


def channel_identity_resolve(
    *,
    channel: str,
    external_id: str,
    display_name: str = "",
    username: str = "",
    language_code: str | None = None,
    in_bot: bool = True,
) -> User:
    """The portal user of a person on a channel, created on first contact; always the same one.

    `language_code=None` keeps the stored language: the Login Widget sends none, and a
    sign-in on the web must not wipe the one the bot learnt. `in_bot=False` (a sign-in on
    the web) says nothing about whether the user still blocks the bot.
    """
    profile = {"display_name": display_name[:128], "username": (username or "")[:64]}
    now = timezone.now()
    if language_code is not None:
        profile["language_code"] = language_code[:16]
    identities = ChannelIdentity.objects.select_related("user").filter(channel=channel, external_id=external_id)
    identity = identities.first()
    if identity is None:
        try:
            with transaction.atomic():
                user = User(username=f"{USERNAME_PREFIX[channel]}{external_id}"[:150], first_name=display_name[:150])
                user.set_unusable_password()
                user.save()
                messaged_at = now if in_bot else None
                ChannelIdentity.objects.create(
                    user=user, channel=channel, external_id=external_id, messaged_at=messaged_at, **profile
                )
                return user
        except IntegrityError:
            # Two first updates of one user raced; the other one created the identity.
            identity = identities.get()
    changed = {field: value for field, value in profile.items() if getattr(identity, field) != value}
    if in_bot and identity.blocked_at:
        # Writing to the user is possible again: an update from them in the bot means they are back.
        changed["blocked_at"] = None
    if in_bot and (identity.messaged_at is None or now - identity.messaged_at > MESSAGED_AT_PRECISION):
        changed["messaged_at"] = now
    if changed:
        ChannelIdentity.objects.filter(pk=identity.pk).update(**changed)
    return identity.user


def channel_identity_block(*, channel: str, external_id: str, blocked: bool) -> None:
    """Record that the person blocked the bot on the channel (or unblocked it)."""
    ChannelIdentity.objects.filter(channel=channel, external_id=external_id).update(
        blocked_at=timezone.now() if blocked else None
    )


# A salt of its own: nothing else signed with SECRET_KEY can pass for a sign-in link.
SIGNIN_LINK_SALT = "accounts.signin_link"
MAX_SIGNIN_TOKEN_LENGTH = 200


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
    # Which rows exist already, so the audit trail can tell a new account from a changed one.
    known_accounts = set(
        PersonalAccount.objects.filter(number__in={row.account_number for row in batch}).values_list(
            "number", flat=True
        )
    )
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
    # Bulk upserts send no signals: the audit trail is written here, one row per account and meter,
    # copied inside the database from the rows just upserted ("+" new, "~" changed).
    _history_copy(PersonalAccount, PersonalAccount.objects.filter(number__in=accounts), "number", known_accounts)
    _history_copy(
        Meter,
        Meter.objects.filter(account_id__in=ids.values(), serial__in={serial for _, serial in meters}),
        "id",
        set(Meter.objects.filter(account__number__in=known_accounts).values_list("id", flat=True)),
    )
    return len(batch)


def _history_copy(model, rows, key: str, existed: set) -> None:
    """INSERT … SELECT of `rows` into the model's history table: one statement per batch and no
    Python object per row, so memory stays flat (the extra rows still cost the import time).
    `existed` holds the `key` values of rows that were there before ("~"); the rest are new ("+")."""
    history = model.history.model
    columns = [field.column for field in model._meta.concrete_fields]
    source_sql, source_params = (
        rows.order_by().values_list(*[field.attname for field in model._meta.concrete_fields]).query.sql_with_params()
    )
    known = ", ".join(["%s"] * len(existed)) or "NULL"
    key_column = model._meta.get_field(key).column
    type_sql = f"CASE WHEN src.{key_column} IN ({known}) THEN '~' ELSE '+' END"
    # Only table and column names from the models are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {history._meta.db_table} ({', '.join(columns)}, history_date, history_change_reason, "  # noqa: S608
        f"history_type, history_user_id) "
        f"SELECT {', '.join('src.' + column for column in columns)}, %s, %s, {type_sql}, NULL "
        f"FROM ({source_sql}) AS src"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), "master data import", *existed, *source_params])


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


def signin_links_prune(*, before: dt.datetime) -> int:
    """Forget sign-in links made before `before`: used or expired, they sign no one in."""
    deleted, _ = SignInLink.objects.filter(created_at__lt=before).delete()
    return deleted


def telegram_logins_prune(*, before: dt.datetime) -> int:
    """Forget used widget answers signed before `before`: by then they are refused as stale anyway."""
    deleted, _ = TelegramLoginUse.objects.filter(signed_at__lt=before).delete()
    return deleted


def link_attempts_prune(*, before: dt.datetime) -> int:
    """Forget failed linking attempts older than any attempt limit looks back."""
    deleted, _ = LinkAttempt.objects.filter(attempted_at__lt=before).delete()
    return deleted


PREVIEW_PROBLEMS = 500
UPLOAD_MAX_BYTES = 50 * 1024 * 1024


def master_data_upload(*, file_name: str, content: bytes, uploaded_by: User) -> MasterDataUpload:
    """Keep an uploaded master-data CSV with the result of checking every row; write no account."""
    from accounts.importing import BadRow, MasterDataFileError  # it builds on this module

    if len(content) > UPLOAD_MAX_BYTES:
        raise UploadTooLarge(size=round(len(content) / 2**20), limit=UPLOAD_MAX_BYTES // 2**20)
    good, bad, problems = 0, 0, []
    try:
        for row in _upload_rows(content):
            if isinstance(row, BadRow):
                bad += 1
                if len(problems) < PREVIEW_PROBLEMS:
                    problems.append([row.line, row.reasons])
            else:
                good += 1
    except MasterDataFileError as error:
        raise UploadUnreadable(reason=str(error)) from None
    return MasterDataUpload.objects.create(
        uploaded_by=uploaded_by,
        file_name=file_name[:255],
        content=content,
        good_rows=good,
        bad_rows=bad,
        problems=problems,
    )


def master_data_upload_import(*, upload_id: int, imported_by: User, skip_bad_rows: bool = False) -> int:
    """Import a checked upload: all or nothing, through master_data_import like the command."""
    with transaction.atomic():
        upload = MasterDataUpload.objects.select_for_update().get(pk=upload_id)
        if upload.imported_at is not None:
            raise UploadAlreadyImported(when=timezone.localtime(upload.imported_at).strftime("%d.%m.%Y %H:%M"))
        if upload.bad_rows and not skip_bad_rows:
            raise UploadHasBadRows(count=upload.bad_rows)
        rows = (row for row in _upload_rows(bytes(upload.content)) if isinstance(row, MasterDataRow))
        imported = master_data_import(rows=rows)
        upload.imported_at, upload.imported_rows = timezone.now(), imported
        upload.save(update_fields=["imported_at", "imported_rows"])
    return imported


def _upload_rows(content: bytes):
    from accounts.importing import read_master_data  # it builds on this module

    # surrogateescape, as the command opens files: a non-UTF-8 line is named by its number.
    text = content.decode("utf-8-sig", errors="surrogateescape")
    return read_master_data(io.StringIO(text, newline=""))
