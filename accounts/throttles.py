"""Sign-up attempts per client address, counted in the cache with DRF's rate throttle.

A limit that cannot count lets people through: sign-up must keep working while Redis
is down, so any error of the cache is logged and the attempt allowed.
"""

import logging
import math

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from accounts.errors import SignUpThrottled
from portal.clientip import client_ip

log = logging.getLogger(__name__)


class SignUpThrottle(SimpleRateThrottle):
    scope = "signup"

    def get_rate(self) -> str:
        return settings.SIGNUP_RATE

    def get_cache_key(self, request: HttpRequest, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}


def signup_throttle_check(request: HttpRequest) -> None:
    """Count one sign-up attempt of the request's address; SignUpThrottled past SIGNUP_RATE."""
    throttle = SignUpThrottle()
    try:
        allowed = throttle.allow_request(request, None)
    except Exception:  # any failure of the cache: count nothing, refuse no one
        log.warning("The sign-up limit could not reach the cache; this attempt is not counted.", exc_info=True)
        return
    if not allowed:
        seconds = math.ceil(throttle.wait() or 1)
        raise SignUpThrottled(minutes=math.ceil(seconds / 60), retry_after=seconds)
