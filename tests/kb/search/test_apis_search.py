"""The search API and the health check."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kb.models import EntryStatus
from kb.search import reset_backend
from kb.search.backends.elasticsearch import ElasticsearchBackend
from kb.search.sync import search_outbox_drain
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db

SEARCH = reverse("kb-api:search")


def test_results_facets_and_links(search_backend, corpus, outsider):
    body = outsider.client.get(SEARCH, {"q": "asset declarations", "type": "offers"}).json()
    assert body["count"] >= 2
    first = body["results"][0]
    assert first["url"].endswith(f"/api/v1/offers/{first['id']}/")
    assert outsider.client.get(first["url"]).status_code == 200
    assert "<mark>" in first["highlights"]["title"]
    languages = {f["value"]: f for f in body["facets"]["language"]}
    assert languages["en"]["label"] == "English"
    assert {
        "article",
        "chapter",
        "ta_type",
        "thematic_area",
        "country",
        "region",
        "regional_group",
        "language",
        "south_south",
    } <= set(body["facets"])


def test_facet_filters_in_the_query_string(search_backend, corpus, outsider):
    body = outsider.client.get(SEARCH, {"article": ["8", "33"], "type": "needs"}).json()
    assert {r["id"] for r in body["results"]} == {corpus["civ_need"].pk, corpus["hnd_need"].pk}


def test_labels_follow_the_language(search_backend, corpus, outsider):
    body = outsider.client.get(SEARCH, {"country": "CIV"}, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["results"][0]["country_name"] == "Côte d’Ivoire"


def test_own_drafts_are_found_others_are_not(search_backend, corpus, civ, kor, outsider):
    from accounts.models import Membership

    draft = corpus["civ_draft"]
    Membership.objects.create(user=civ.user, organisation=draft.organisation, is_provider_focal_point=True)
    civ.user.__dict__.pop("_ta_scope", None)
    mine = civ.client.get(SEARCH, {"q": "brouillon"}).json()
    assert draft.pk in {r["id"] for r in mine["results"] if r["kind"] == "offer"}
    theirs = kor.client.get(SEARCH, {"q": "brouillon"}).json()
    assert draft.pk not in {r["id"] for r in theirs["results"] if r["kind"] == "offer"}


def test_bad_parameters_are_named(search_backend, outsider):
    response = outsider.client.get(SEARCH, {"type": "everything", "sort": "random", "colour": "red"})
    assert response.status_code == 400
    attrs = {e["attr"] for e in response.json()["errors"]}
    assert "colour" in attrs
    response = outsider.client.get(SEARCH, {"type": "everything"})
    assert {e["attr"] for e in response.json()["errors"]} == {"type"}


def test_page_size_is_capped(search_backend, outsider, settings):
    for _ in range(3):
        OfferFactory(status=EntryStatus.PUBLISHED)
    search_outbox_drain(backend=search_backend)
    settings.API_MAX_PAGE_SIZE = 2
    body = outsider.client.get(SEARCH, {"page_size": 500}).json()
    assert body["page_size"] == 2
    assert len(body["results"]) == 2
    assert body["count"] == 3


def test_paging_past_the_result_window_names_the_page_instead_of_failing_in_search(search_backend, outsider):
    """Both backends page through the first 10 000 results; past that the parameters are refused
    (a 400 on ``page``), never sent to search (Elasticsearch would refuse, and that is not an outage)."""
    last = outsider.client.get(SEARCH, {"page": 100, "page_size": 100})
    assert last.status_code == 200
    beyond = outsider.client.get(SEARCH, {"page": 101, "page_size": 100})
    assert beyond.status_code == 400
    [error] = beyond.json()["errors"]
    assert error["attr"] == "page"
    assert "the last page is 100" in error["detail"]


def test_anonymous_is_refused(anonymous_client):
    assert anonymous_client.get(SEARCH).status_code == 401


@pytest.mark.elasticsearch
def test_search_answers_503_when_elasticsearch_is_unreachable_and_the_rest_works(outsider, elasticsearch_url, civ):
    reset_backend(ElasticsearchBackend("ta-test-unreachable", url="http://127.0.0.1:9"))
    try:
        response = outsider.client.get(SEARCH, {"q": "anything"})
        assert response.status_code == 503
        assert response.json()["errors"][0]["code"] == "search_unavailable"
        assert outsider.client.get(reverse("kb-api:offer-list")).status_code == 200
        created = civ.client.post(
            reverse("kb-api:offer-list"),
            {"title": "t", "description": "d", "language": "en", "organisation": civ.organisation.pk},
            format="json",
        )
        assert created.status_code == 201
        health = outsider.client.get(reverse("kb-api:health")).json()
        assert health["status"] == "degraded"
        assert health["search"]["status"] == "unavailable"
    finally:
        reset_backend(None)


def test_health_reports_index_sync_to_moderators_only(search_backend, anonymous_client, outsider, moderator):
    OfferFactory(status=EntryStatus.PUBLISHED)
    body = moderator.client.get(reverse("kb-api:health")).json()
    assert body["status"] == "ok"
    assert body["search"]["indices"]["offer"] == {"database": 1, "index": 0, "pending": 1, "in_sync": False}
    search_outbox_drain(backend=search_backend)
    body = moderator.client.get(reverse("kb-api:health")).json()
    assert body["search"]["indices"]["offer"]["in_sync"] is True
    for client in (anonymous_client, outsider.client):
        body = client.get(reverse("kb-api:health")).json()
        assert body == {"status": "ok", "database": "ok", "search": {"backend": search_backend.name, "status": "ok"}}


def test_embedded_search_finishes_pending_indexing_itself(settings, outsider):
    """With no beat in embedded mode, the next search catches up with the outbox."""
    from kb.search import get_backend

    settings.SEARCH_BACKEND = "embedded"
    offer = OfferFactory(status=EntryStatus.PUBLISHED, title="Pending indexing")
    get_backend().ensure_indices()
    body = outsider.client.get(SEARCH, {"q": "pending indexing"}).json()
    assert [r["id"] for r in body["results"]] == [offer.pk]


def test_the_search_selector_only_reads(settings, outsider):
    """The catch-up is the service's (kb.services.search); the selector leaves the outbox alone."""
    from kb.models import SearchOutbox
    from kb.search import get_backend
    from kb.selectors import entry_search
    from kb.services.search import entries_search

    settings.SEARCH_BACKEND = "embedded"
    offer = OfferFactory(status=EntryStatus.PUBLISHED, title="Pending indexing")
    get_backend().ensure_indices()
    pending = SearchOutbox.objects.count()
    assert pending
    assert entry_search(user=outsider.user, text="pending indexing").hits == []
    assert SearchOutbox.objects.count() == pending
    assert [hit.entry_id for hit in entries_search(user=outsider.user, text="pending indexing").hits] == [offer.pk]
    assert not SearchOutbox.objects.exists()
