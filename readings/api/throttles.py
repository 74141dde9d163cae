from rest_framework.throttling import ScopedRateThrottle

from portal.clientip import client_ip


class ScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, with the client's address from TRUSTED_PROXIES (portal/clientip.py):
    DRF's own reading believes any X-Forwarded-For, so a new header value would be a new bucket."""

    def get_ident(self, request) -> str:
        return client_ip(request) or "unknown"
