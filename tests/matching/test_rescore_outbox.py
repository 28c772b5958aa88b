"""Incremental re-scoring is recorded with the change and never lost to a broker or search outage."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from kb.content import entry_content
from kb.search import SearchUnavailable
from matching.models import MatchCandidate, RescoreRequest
from matching.services.runs import match_run_execute, match_run_start, rescore_requests_drain
from matching.tasks import rematch_needs_task
from tests.outages import real_broker, refused_redis_url

pytestmark = pytest.mark.django_db

NEED = {
    "title": "Protection des lanceurs d'alerte",
    "description": "Protéger les lanceurs d'alerte et les dénonciateurs.",
    "language": "fr",
    "articles": [33],
    "ta_types": ["legislative_assistance"],
}


@pytest.fixture
def incremental(settings):
    settings.MATCHING_INCREMENTAL = True


def _publish_need(civ, moderator, capture):
    from kb.services.entries import need_create
    from kb.services.moderation import entry_transition

    with capture(execute=True):
        need = need_create(
            actor=civ.user, organisation=civ.organisation, content=entry_content("need", NEED), submit=True
        )
        entry_transition(actor=moderator.user, entry=need, action="publish")
    return need


def _age_requests(seconds: int) -> None:
    RescoreRequest.objects.update(requested_at=timezone.now() - timedelta(seconds=seconds))


def test_the_request_is_written_in_the_changes_own_transaction(small_kb, incremental, civ):
    from kb.services.entries import need_create

    need = need_create(
        actor=civ.user, organisation=civ.organisation, content=entry_content("need", NEED)
    )  # not committed yet
    assert RescoreRequest.objects.filter(entry_kind="need", entry_id=need.pk).exists()


def test_served_requests_are_removed(small_kb, incremental, civ, moderator, django_capture_on_commit_callbacks):
    need = _publish_need(civ, moderator, django_capture_on_commit_callbacks)
    assert MatchCandidate.objects.current().filter(need=need).exists()
    assert not RescoreRequest.objects.exists()


def test_re_scoring_lost_to_a_broker_outage_happens_once_it_is_back(
    small_kb, incremental, civ, moderator, django_capture_on_commit_callbacks
):
    from core.tasks import breaker_reset

    with real_broker(refused_redis_url()):
        need = _publish_need(civ, moderator, django_capture_on_commit_callbacks)
    assert not MatchCandidate.objects.current().filter(need=need).exists()
    assert RescoreRequest.objects.filter(entry_kind="need", entry_id=need.pk).exists()
    breaker_reset()
    assert rescore_requests_drain()["need"] == 0, "within the grace period the normal path has its turn"
    _age_requests(settings.MATCHING_RESCORE_GRACE_SECONDS + 1)
    assert rescore_requests_drain()["need"] == 1  # tasks run eagerly here: re-scored now
    assert MatchCandidate.objects.current().filter(need=need).exists()
    assert not RescoreRequest.objects.exists()


def test_a_search_outage_past_the_tasks_retries_keeps_the_request(
    search_backend, small_kb, incremental, civ, moderator
):
    from kb.services.entries import need_create
    from kb.services.moderation import entry_transition

    need = need_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", NEED), submit=True)
    entry_transition(actor=moderator.user, entry=need, action="publish")  # after-commit chain not run
    from kb.search import reset_backend
    from kb.search.backends.elasticsearch import ElasticsearchBackend

    reset_backend(ElasticsearchBackend("ta-test-down", url="http://127.0.0.1:9"))  # nothing listens there
    try:
        with pytest.raises(SearchUnavailable):
            rematch_needs_task.run([need.pk])  # the task body, as its last retry runs it
    finally:
        reset_backend(search_backend)
    assert RescoreRequest.objects.filter(entry_kind="need", entry_id=need.pk).exists()
    _age_requests(settings.MATCHING_RESCORE_GRACE_SECONDS + 1)
    assert rescore_requests_drain()["need"] == 1
    assert MatchCandidate.objects.current().filter(need=need).exists()
    assert not RescoreRequest.objects.exists()
    assert rescore_requests_drain() == {"need": 0, "offer": 0, "expired": 0}


def test_a_full_run_serves_every_request_made_before_it_started(small_kb, incremental, civ):
    from kb.services.entries import need_create

    need_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", NEED))
    assert RescoreRequest.objects.count() == 1
    run = match_run_start(trigger="command", enqueue=False)
    match_run_execute(run_id=run.pk)
    assert not RescoreRequest.objects.exists()


def test_requests_past_the_budget_are_dropped(small_kb, incremental, civ):
    from kb.services.entries import need_create

    need_create(actor=civ.user, organisation=civ.organisation, content=entry_content("need", NEED))
    _age_requests(settings.MATCHING_RESCORE_BUDGET_HOURS * 3600 + 1)
    assert rescore_requests_drain()["expired"] == 1
    assert not RescoreRequest.objects.exists()


def test_beat_drains_re_scoring_requests_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["matching-rescore-drain"]
    assert entry["task"] == "matching.tasks.rescore_requests_drain_task"
    assert entry["schedule"] == 60
