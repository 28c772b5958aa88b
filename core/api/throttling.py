import logging

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from core.breaker import CircuitBreaker

logger = logging.getLogger(__name__)

#: The cache the throttle counts in (Redis in production): after one failure, the throttle lets
#: writes through at once for a while instead of waiting out the cache's timeout on each.
cache_breaker = CircuitBreaker("cache", failures=1, reset_seconds=lambda: settings.CACHE_BREAKER_SECONDS)


class WriteRateThrottle(UserRateThrottle):
    """Limits writes (POST, PUT, PATCH, DELETE) per user; reads are not throttled.

    The counts live in the cache (Redis in production). If the cache is down or hung the throttle
    lets the request through (fails open): a cache outage must not refuse or lose anybody's
    writes. The first write to meet the outage waits for the cache's one-second socket timeout;
    the breaker then lets writes through without asking the cache for ``CACHE_BREAKER_SECONDS``
    (one write tries again after that). The breaker logs the outage once as it opens.
    """

    scope = "writes"

    def allow_request(self, request, view) -> bool:
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return True
        if not cache_breaker.allow():
            return True
        try:
            allowed = super().allow_request(request, view)
        except Exception as exc:  # the cache backend's own errors (redis.ConnectionError, TimeoutError)
            cache_breaker.failure(f"write throttle skipped: {type(exc).__name__}: {exc}")
            return True
        cache_breaker.success()
        return allowed
