import logging
import time

from rest_framework.throttling import UserRateThrottle

logger = logging.getLogger(__name__)

_warned_at = 0.0


class WriteRateThrottle(UserRateThrottle):
    """Limits writes (POST, PUT, PATCH, DELETE) per user; reads are not throttled.

    The counts live in the cache (Redis in production). If the cache is down or hung the throttle
    lets the request through (fails open, after the cache's one-second socket timeout): a cache
    outage must not refuse or lose anybody's writes. The outage is logged once a minute.
    """

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        try:
            return super().allow_request(request, view)
        except Exception as exc:  # the cache backend's own errors (redis.ConnectionError, TimeoutError)
            global _warned_at
            if time.monotonic() - _warned_at > 60:
                _warned_at = time.monotonic()
                logger.warning("write throttle skipped, cache unavailable: %s: %s", type(exc).__name__, exc)
            return True
