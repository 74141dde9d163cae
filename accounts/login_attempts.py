"""Limits on password guessing, by django-axes, for every place that takes a password.

The cabinet's sign-in, admin's login and the API's token request all call Django's
`authenticate()` with the request; axes' backend, first in AUTHENTICATION_BACKENDS,
counts the failures per account name and, apart, per client address
(portal.clientip), and past LOGIN_ATTEMPTS_MAX refuses before any password is
hashed. The forms and the API say why (SignInLocked, with the time the lock ends);
`lockout_response` gives that answer SignInLocked's status (429) and Retry-After.

A lock on an account name can be set by anyone who knows the name. It ends by
itself after LOGIN_LOCKOUT_MINUTES, and a password reset lifts it at once and signs
the resident in (services.user_password_changed, the reset view's post_reset_login).
"""

import datetime as dt
import math

from asgiref.sync import sync_to_async
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_cool_off, get_credentials, get_lockout_response
from axes.middleware import AxesMiddleware
from axes.models import AccessAttempt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.utils import timezone

from accounts.errors import SignInLocked


class LoginAttemptsHandler(AxesDatabaseHandler):
    """Axes' database handler, with a narrower reset on success."""

    def reset_user_attempts(self, request: HttpRequest, credentials: dict | None = None) -> int:
        """Forget the failures of this account name from this address only.

        Axes' own reset deletes every failure of the address and every failure of the name:
        an attacker could sign in to an account of their own between guesses and never
        reach the limit, or a resident's sign-in would wipe out someone's guesses at their
        password made from elsewhere.
        """
        username = get_client_username(request, credentials)
        count, _ = AccessAttempt.objects.filter(username=username, ip_address=request.axes_ip_address).delete()
        return count


def signin_attempts_reset(*, username: str) -> int:
    """Lift the lock on an account name, wherever the failures came from."""
    return AxesProxyHandler.reset_attempts(username=username)


def signin_locked(request: HttpRequest, username: str | None) -> SignInLocked:
    """The refusal for a locked-out sign-in, naming when to try again."""
    ends = lock_ends(request, username)
    seconds = max(1, math.ceil((ends - timezone.now()).total_seconds()))
    return SignInLocked(
        time=timezone.localtime(ends).strftime("%H:%M"), minutes=math.ceil(seconds / 60), retry_after=seconds
    )


def lock_ends(request: HttpRequest, username: str | None) -> dt.datetime:
    """When the request may try again: when enough of the counted failures are older than the
    cool-off for every key (address, name) to be under the limit again."""
    AxesProxyHandler.update_request(request)
    cool_off = get_cool_off(request)
    handler = AxesProxyHandler.get_implementation()
    ends = None
    for attempts in handler.get_user_attempts(request, get_credentials(username)):
        rows = attempts.order_by("attempt_time").values_list("attempt_time", "failures_since_start")
        counted = sum(failures for _, failures in rows)
        for attempt_time, failures in rows:
            if counted < settings.AXES_FAILURE_LIMIT:
                break
            counted -= failures
            ends = max(ends, attempt_time + cool_off) if ends else attempt_time + cool_off
    return ends or timezone.now() + cool_off


def lockout_response(
    request: HttpRequest, original_response: HttpResponseBase | None = None, credentials: dict | None = None
) -> HttpResponseBase:
    """Axes' AXES_LOCKOUT_CALLABLE: the view's own answer (the form with the message, or the
    API's JSON), as 429 with Retry-After; a page axes met some other way gets the message alone."""
    if isinstance(original_response, HttpResponseBase):
        response = original_response
    else:
        username = get_client_username(request, credentials) if credentials else None
        response = HttpResponse(signin_locked(request, username).message, content_type="text/plain; charset=utf-8")
    response.status_code = SignInLocked.http_status
    if not response.has_header("Retry-After"):
        username = get_client_username(request, credentials) if credentials else None
        for name, value in signin_locked(request, username).http_headers.items():
            response[name] = value
    return response


class LockoutMiddleware(AxesMiddleware):
    """Axes' middleware, with its async path passing on the view's answer as its sync path does.

    axes 8.3.1 calls the lock-out callable from `__acall__` without the response (the
    credentials land in its place), so under ASGI the sign-in page would lose its form.
    """

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        response = await self.get_response(request)
        if settings.AXES_ENABLED and getattr(request, "axes_locked_out", None):
            credentials = getattr(request, "axes_credentials", None)
            response = await sync_to_async(get_lockout_response, thread_sensitive=True)(request, response, credentials)
        return response
