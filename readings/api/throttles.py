from rest_framework.throttling import ScopedRateThrottle

from accounts.throttles import SlidingLogThrottle
from portal.clientip import client_ip


class ScopedThrottle(ScopedRateThrottle, SlidingLogThrottle):
    """DRF's scoped throttle (its allow_request picks the view's scope, then SlidingLogThrottle
    counts in one Redis round trip: accounts/throttles.py), with the
    client's address from TRUSTED_PROXIES (portal/clientip.py): DRF's own reading believes any
    X-Forwarded-For, so a new header value would be a new bucket."""

    def get_ident(self, request) -> str:
        return client_ip(request) or "unknown"
