import logging
from urllib.parse import urlsplit

from django.conf import settings
from rest_framework.throttling import UserRateThrottle

from core.breaker import CircuitBreaker
from core.tasks import breaker as broker_breaker

logger = logging.getLogger(__name__)

#: The cache the throttle counts in (Redis in production): after one failure, the throttle lets
#: writes through at once for a while instead of waiting out the cache's timeout on each.
cache_breaker = CircuitBreaker("cache", failures=1, reset_seconds=lambda: settings.CACHE_BREAKER_SECONDS)


def _cache_is_the_broker() -> bool:
    """The cache and the broker are the same Redis server (the production shape): an outage of one
    is an outage of the other."""
    location = settings.CACHES["default"].get("LOCATION") or ""
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    cache_at, broker_at = urlsplit(str(location)), urlsplit(str(broker))
    return bool(cache_at.hostname) and (cache_at.hostname, cache_at.port) == (broker_at.hostname, broker_at.port)


class WriteRateThrottle(UserRateThrottle):
    """Limits writes (POST, PUT, PATCH, DELETE) per user; reads are not throttled.

    The counts live in the cache (Redis in production). If the cache is down or hung the throttle
    lets the request through (fails open): a cache outage must not refuse or lose anybody's
    writes. The first write to meet the outage waits for the cache's one-second socket timeout;
    the breaker then lets writes through without asking the cache for ``CACHE_BREAKER_SECONDS``
    (one write tries again after that). The breaker logs the outage once as it opens. When the
    cache is the broker's Redis, the broker's breaker opens too: the write's hand-overs after
    commit skip publishing instead of waiting out a second timeout on the same server.
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
            reason = f"write throttle skipped: {type(exc).__name__}: {exc}"
            cache_breaker.failure(reason)
            if _cache_is_the_broker():
                broker_breaker.failure(f"its Redis is the cache's: {reason}")
            return True
        cache_breaker.success()
        return allowed
