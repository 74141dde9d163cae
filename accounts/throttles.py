"""Rate limits counted in Redis in one round trip (the API's), and sign-up attempts per client address.

DRF's rate throttle keeps each client's request times as a list in the cache: a GET and then
a SET, two round trips to Redis on every request it lets through. SlidingLogThrottle keeps the
same sliding log as a sorted set and checks, trims and appends it in one Lua script: one round
trip, the same limits, the same Retry-After. Without Redis (the in-process cache of `make run`)
it is DRF's own.

A limit that cannot count lets people through: readings and sign-up must keep working while
Redis is down, so an error of Redis is logged and the request allowed; for a few seconds after
one the process does not try again, so an outage costs no request a connection timeout.
"""

import logging
import math
import secrets
import time

from django.conf import settings
from django.http import HttpRequest
from rest_framework.throttling import SimpleRateThrottle

from accounts.errors import SignUpThrottled
from portal.clientip import client_ip

log = logging.getLogger(__name__)

# KEYS[1]: the log; ARGV: now, duration (s), limit, a new entry. Entries no newer than
# now - duration fall out, as in DRF. Returns [allowed, entries, the oldest entry's time].
SLIDING_LOG = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local count = redis.call('ZCARD', KEYS[1])
if count < tonumber(ARGV[3]) then
    redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
    redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[2])))
    return {1, count + 1, ''}
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, count, oldest[2]}
"""
REDIS_PAUSE_SECONDS = 5.0
_redis_failed_at = [-math.inf]  # this process's last Redis failure (time.monotonic)
_script = [None]


def _redis_script():
    if _script[0] is None:
        from django_redis import get_redis_connection  # only with Redis configured

        _script[0] = get_redis_connection("default").register_script(SLIDING_LOG)
    return _script[0]


def _uses_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"] == "django_redis.cache.RedisCache"


class SlidingLogThrottle(SimpleRateThrottle):
    """SimpleRateThrottle's limits in one Redis round trip (see the module's docstring)."""

    def allow_request(self, request, view) -> bool:
        if not _uses_redis():
            return super().allow_request(request, view)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        if time.monotonic() - _redis_failed_at[0] < REDIS_PAUSE_SECONDS:
            return True
        self.now = self.timer()
        try:
            allowed, count, oldest = _redis_script()(
                keys=[f"throttle:{self.key}"],
                args=[repr(self.now), self.duration, self.num_requests, f"{self.now!r}:{secrets.token_hex(4)}"],
            )
        except Exception:  # any failure of Redis: count nothing, refuse no one
            _redis_failed_at[0] = time.monotonic()
            log.warning("A rate limit could not reach Redis; requests are not counted for a while.", exc_info=True)
            return True
        if allowed:
            return True
        # What DRF's wait() reckons from its list: the oldest entry's age, shared among what is left.
        self.history = [float(oldest)] + [self.now] * (int(count) - 1)
        self.history.reverse()
        return False


class SignUpThrottle(SimpleRateThrottle):
    """DRF's own: sign-up is no hot path, and its tests break the cache itself."""

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
