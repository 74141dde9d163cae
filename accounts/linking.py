"""Linking a user to an account they prove by a meter serial, with limits on failed attempts.

The web, the API and the bots link through account_link; the quick form and the phone menu
prove a meter the same way (account_meter_prove, account_meter_prove_by_phone) without linking.
"""

import datetime as dt
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.errors import AccountMeterMismatch, AlreadyLinked, NotLinked, TooManyAttempts
from accounts.models import AccountLink, LinkAttempt, Meter, User
from accounts.numbers import (
    account_number_normalize,
    meter_serial_digits_normalize,
    meter_serial_normalize,
    phone_caller_key,
    serial_digits_of,
)
from portal.clientip import address_network


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
    digits = meter_serial_digits_normalize(serial_digits)
    caller = phone_caller_key(caller)
    limits = _link_attempt_limits(user=None, network="", number=number, caller=caller)

    def find() -> Meter | None:
        # All the number's meters in one query whether the number or the serial is wrong; the
        # letters are left out in Python (an account has a handful of meters).
        meters = Meter.objects.filter(account__number=number, account__is_active=True, is_active=True)
        matching = [m for m in meters.select_related("account").order_by("serial") if serial_digits_of(m) == digits]
        return matching[0] if matching else None

    return _prove(number=number, shown_serial=digits, limits=limits, find=find, attempt=LinkAttempt(caller=caller))


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


def link_attempts_prune(*, before: dt.datetime) -> int:
    """Forget failed linking attempts older than any attempt limit looks back."""
    deleted, _ = LinkAttempt.objects.filter(attempted_at__lt=before).delete()
    return deleted
