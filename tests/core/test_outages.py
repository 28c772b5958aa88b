"""The request path with Redis refused or hung: writes succeed, nothing waits past the timeouts
(real sockets, no mocks: tests/outages.py)."""

from __future__ import annotations

import contextlib
import time

import pytest
from django.core.cache import caches
from django.test import override_settings
from django.urls import reverse

from core import tasks as broker  # the broker hand-over
from kb.models import ExpertiseOffer
from tests.outages import hung_url, real_broker, refused_redis_url

pytestmark = pytest.mark.django_db

OFFER = {
    "title": "Asset declaration verification",
    "description": "A course for verifiers.",
    "language": "en",
    "articles": [8],
    "ta_types": ["capacity_building"],
}
# Generous: the hang being guarded against lasted 60 s (redis-py's default: no timeout at all).
DEADLINE_SECONDS = 10


@contextlib.contextmanager
def _redis_at(url: str, settings):
    """The cache (write throttle) and the broker both pointed at ``url``, tasks really published."""
    cache = {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
    with override_settings(CACHES={"default": cache}), real_broker(url):
        caches["default"].close()
        yield
    caches["default"].close()


@pytest.fixture
def post_offer(civ, django_capture_on_commit_callbacks):
    """POST an offer as a focal point, with its after-commit hand-overs run as a request would."""

    def post():
        started = time.monotonic()
        payload = {**OFFER, "organisation": civ.organisation.pk}
        with django_capture_on_commit_callbacks(execute=True):
            response = civ.client.post(reverse("kb-api:offer-list"), payload, format="json")
        return response, time.monotonic() - started

    return post


def test_a_write_succeeds_with_redis_refused(post_offer, settings):
    with _redis_at(refused_redis_url(), settings):
        response, seconds = post_offer()
    assert response.status_code == 201, response.content
    assert ExpertiseOffer.objects.filter(pk=response.json()["id"]).exists()
    assert seconds < DEADLINE_SECONDS
    assert not broker.broker_available(), "the failed hand-over opened the breaker"


def test_a_write_returns_within_the_timeouts_with_redis_hung(post_offer, settings):
    with hung_url() as url, _redis_at(url, settings):
        response, seconds = post_offer()
        assert response.status_code == 201, response.content
        assert seconds < DEADLINE_SECONDS, f"the write took {seconds:.1f} s"
        # The breaker is open now: the next write does not wait for the broker's timeout again.
        second, _seconds = post_offer()
        assert second.status_code == 201
    assert ExpertiseOffer.objects.count() == 2


def test_the_breaker_skips_publishing_then_closes(settings):
    from kb.tasks import search_index_entries_task

    settings.BROKER_BREAKER_SECONDS = 1
    with _redis_at(refused_redis_url(), settings):
        assert not broker.enqueue(search_index_entries_task, "offer", [1])
        assert not broker.broker_available()
        opened_at = time.monotonic()
        assert not broker.enqueue(search_index_entries_task, "offer", [1])  # skipped, not tried
        assert time.monotonic() - opened_at < 0.5
    time.sleep(1.1)
    assert broker.broker_available()


def test_the_write_throttle_fails_open_but_still_throttles_when_the_cache_works(post_offer, settings, monkeypatch):
    from core.api.throttling import WriteRateThrottle

    monkeypatch.setattr(WriteRateThrottle, "THROTTLE_RATES", {"writes": "1/min"})
    settings.CACHE_BREAKER_SECONDS = 1
    with _redis_at(refused_redis_url(), settings):
        assert post_offer()[0].status_code == 201
        assert post_offer()[0].status_code == 201  # no count can be kept: let writes through
    time.sleep(1.1)  # the breaker lets the next write ask the cache again
    caches["default"].clear()
    assert post_offer()[0].status_code == 201
    assert post_offer()[0].status_code == 429


def test_after_one_cache_failure_writes_stop_waiting_for_the_hung_cache(post_offer, settings):
    """The first write meets the hung cache's timeout; the breaker opens and the next writes let
    the throttle through without asking the cache (Redis hung cost every API write a second)."""
    from core.api.throttling import cache_breaker

    with hung_url() as url, _redis_at(url, settings):
        assert post_offer()[0].status_code == 201
        assert cache_breaker.is_open
        skipped = cache_breaker.skipped
        assert post_offer()[0].status_code == 201
        assert cache_breaker.skipped == skipped + 1
