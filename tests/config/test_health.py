"""/health/live (no I/O) and /health/ready (dependencies, bounded in time, no entry counts)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.outages import hung_url, real_broker

pytestmark = pytest.mark.django_db


def test_live_answers_without_touching_anything(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(reverse("health-live"))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_reports_each_dependency_and_no_entry_counts(client, search_backend):
    from tests.factories import OfferFactory

    OfferFactory()
    body = client.get(reverse("health-ready")).json()
    assert body["status"] == "ok", body
    assert body["database"] == "ok"
    assert body["broker"] == "in-process"  # tests run tasks eagerly
    assert body["search"] == "ok"
    assert body["search_outbox_oldest_seconds"] is not None  # the new offer waits for indexing
    assert body["matching_queued_oldest_seconds"] is None
    assert not {"indices", "count", "database_count", "entries"} & set(body)


def test_ready_answers_within_its_deadline_when_the_broker_hangs(client, settings):
    settings.HEALTH_CHECK_TIMEOUT = 0.5
    with hung_url() as url, real_broker(url):
        response = client.get(reverse("health-ready"))
    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded"
    assert body["broker"].startswith(("no answer within", "unavailable")), body


@pytest.mark.elasticsearch
def test_ready_says_search_is_failing_fast_while_its_circuit_is_open(client, settings):
    from kb.search import reset_backend
    from kb.search.backends.elasticsearch import search_breaker
    from tests.conftest import make_search_backend

    backend = make_search_backend("elasticsearch")
    reset_backend(backend)
    try:
        for _ in range(settings.SEARCH_BREAKER_FAILURES):
            search_breaker.failure("test")
        body = client.get(reverse("health-ready")).json()
    finally:
        backend.drop_all()
        reset_backend(None)
    assert body["status"] == "degraded"
    assert body["search"] == "unavailable (circuit open)"
