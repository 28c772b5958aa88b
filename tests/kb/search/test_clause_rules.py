"""The clause rules have one home (``kb.search.backends.base.SearchBackend``): both backends compile
the same tree of ``kb.search.query`` nodes, refuse the same bad query the same way, and never
treat a refused query as search being down (so nothing retries it)."""

from __future__ import annotations

import pytest

from config.celery import app as celery_app
from kb.models import EntryStatus
from kb.search import SearchRequestRejected, SearchUnavailable
from kb.search.backends.base import INDEX_KINDS, PUBLISHED, SearchBackend, error_for_status
from kb.search.backends.elasticsearch import ElasticsearchBackend
from kb.search.backends.embedded import EmbeddedBackend
from kb.search.query import ARTICLE_BOOST, Bool, DisMax, SearchRequest, Term, TermQuery, Terms, VectorQuery
from kb.search.sync import search_sync_entries
from tests.conftest import make_search_backend
from tests.factories import OfferFactory
from tests.kb.search.conftest import org, published, tag

pytestmark = pytest.mark.django_db

RULES = (
    "checked_kind",
    "text_clauses",
    "request_filters",
    "request_query",
    "exclusions",
    "candidate_query",
    "vector_filter",
    "ensure_indices",
)


@pytest.mark.parametrize("backend_class", [ElasticsearchBackend, EmbeddedBackend])
def test_no_backend_writes_a_clause_rule_of_its_own(backend_class):
    """Each backend compiles nodes; the rules (and ``ensure_indices``) are the base's alone."""
    assert "compile" in vars(backend_class)
    for rule in RULES:
        assert rule not in vars(backend_class), f"{backend_class.__name__} overrides {rule}"
        assert rule in vars(SearchBackend)


def test_a_search_is_one_tree_whatever_the_backend():
    request = SearchRequest(
        kinds=("offer",), text="whistleblower", filters={"country": ["RWA"]}, visible_to_owners=("org:7",)
    )
    query = SearchBackend.request_query(request)
    assert query.filter == (
        Terms("country", ("RWA",)),
        Bool(should=(PUBLISHED, Terms("owners", ("org:7",)))),
    )
    assert query.should, "the words score"
    first = query.should[0]
    assert isinstance(first, Bool)
    assert [type(node) for node in first.should] == [DisMax, DisMax]
    # A moderator (visible_to_owners=None) without words: no visibility rule, nothing scores.
    assert SearchBackend.request_query(SearchRequest(kinds=("offer",), visible_to_owners=None)) == Bool()


def test_matching_queries_exclude_the_asking_state_and_unpublished_entries_by_one_rule():
    query = SearchBackend.candidate_query(
        TermQuery(key=1, groups=[frozenset({"audit"})], weights=[2.0], concepts=[], exclude_country="CIV")
    )
    assert query is not None
    assert query.filter == (PUBLISHED,)
    assert query.must_not == (Term("country", "CIV"),)
    assert SearchBackend.vector_filter(VectorQuery(key=1, vector=[1.0], exclude_country="CIV")) == Bool(
        filter=(PUBLISHED,), must_not=(Term("country", "CIV"),)
    )
    nothing = TermQuery(key=2, groups=[], weights=[], concepts=[])
    assert SearchBackend.candidate_query(nothing) is None


def test_the_elasticsearch_compilation_of_a_tree():
    backend = ElasticsearchBackend("ta-test-compile", url="http://127.0.0.1:9")  # never contacted
    tree = Bool(
        should=(Term("title_terms", "audit", boost=2.0), Terms("articles", ("8",), boost=ARTICLE_BOOST)),
        filter=(PUBLISHED,),
        must_not=(Term("country", "CIV"),),
    )
    assert backend.compile(tree) == {
        "bool": {
            "filter": [{"term": {"status": {"value": "published"}}}],
            "should": [
                {"term": {"title_terms": {"value": "audit", "boost": 2.0}}},
                {"terms": {"articles": ["8"], "boost": ARTICLE_BOOST}},
            ],
            "minimum_should_match": 1,
            "must_not": [{"term": {"country": {"value": "CIV"}}}],
        }
    }


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, SearchUnavailable),  # no answer: a connection failure or a timeout
        (400, SearchRequestRejected),
        (404, SearchUnavailable),
        (408, SearchUnavailable),
        (409, SearchRequestRejected),
        (429, SearchUnavailable),
        (500, SearchUnavailable),
        (502, SearchUnavailable),
    ],
)
def test_which_failures_are_an_outage_is_decided_once(status, expected):
    error = error_for_status("why", status)
    assert type(error) is expected


def test_no_task_retries_a_refused_request():
    """Tasks retry outages (``SearchUnavailable``); a refused request is a bug and fails at once."""
    retrying = [task for task in celery_app.tasks.values() if getattr(task, "autoretry_for", ())]
    assert any(SearchUnavailable in task.autoretry_for for task in retrying)
    for task in retrying:
        assert not issubclass(SearchRequestRejected, tuple(task.autoretry_for)), task.name


@pytest.mark.parametrize(
    "request_kwargs",
    [
        {"filters": {"owners": ["org:1"]}},  # not a facet: nobody filters on who owns a draft
        {"filters": {"status": ["draft"]}},
        {"facets": ("owners",)},
        {"kinds": ("person",)},
    ],
)
def test_a_bad_query_is_refused_not_an_outage_on_both_backends(search_backend, request_kwargs):
    request = SearchRequest(**{"kinds": ("offer",), "visible_to_owners": None, **request_kwargs})
    with pytest.raises(SearchRequestRejected, match="unknown"):
        search_backend.search(request)


def test_candidates_of_an_unknown_kind_are_refused_on_both_backends(search_backend):
    query = TermQuery(key=1, groups=[frozenset({"audit"})], weights=[1.0], concepts=[])
    with pytest.raises(SearchRequestRejected, match="unknown kind"):
        search_backend.candidates("person", [query], size=5)


def _offers():
    rwa = published(
        OfferFactory(
            organisation=org("RWA", "Office of the Ombudsman"),
            title="Asset declarations online",
            description="Filing and verification of asset declarations.",
        )
    )
    fra = published(
        OfferFactory(
            organisation=org("FRA", "Haute Autorité"),
            title="Déclarations de patrimoine",
            description="Vérifier les déclarations de patrimoine.",
        )
    )
    draft = OfferFactory(organisation=org("CIV", "Haute Autorité CIV"), title="Asset declarations draft")
    assert draft.status != EntryStatus.PUBLISHED
    for entry in (rwa, fra, draft):
        tag(entry, articles=[8])
    return rwa, fra, draft


@pytest.mark.elasticsearch
def test_the_same_tree_finds_the_same_entries_on_both_backends(elasticsearch_url):
    """One candidate query, compiled by each backend: same entries, and the article constant is
    the same score on both (a constant, not BM25)."""
    rwa, fra, draft = _offers()
    backends = [make_search_backend("embedded"), make_search_backend("elasticsearch")]
    try:
        answers = []
        for backend in backends:
            search_sync_entries(kind="offer", entry_ids=[rwa.pk, fra.pk, draft.pk], backend=backend)
            backend.refresh()
            articles_only = TermQuery(key=1, groups=[], weights=[], concepts=[], articles=["8"])
            not_rwa = TermQuery(key=2, groups=[], weights=[], concepts=[], articles=["8"], exclude_country="RWA")
            found = backend.candidates("offer", [articles_only, not_rwa], size=10)
            with_drafts = backend.candidates("offer", [articles_only], size=10, visible_only_published=False)
            answers.append(
                (
                    sorted(found[1]),
                    sorted(found[2]),
                    sorted(entry for entry, _score in with_drafts[1]),
                )
            )
        embedded, elasticsearch = answers
        assert embedded == elasticsearch
        assert embedded[0] == sorted([(rwa.pk, ARTICLE_BOOST), (fra.pk, ARTICLE_BOOST)])
        assert embedded[1] == [(fra.pk, ARTICLE_BOOST)]
        assert embedded[2] == sorted([rwa.pk, fra.pk, draft.pk])
    finally:
        for backend in backends:
            backend.drop_all()


def test_every_kind_has_its_index_after_ensure_indices(search_backend):
    for kind in INDEX_KINDS:
        assert search_backend.current_index(kind)
    before = {kind: search_backend.current_index(kind) for kind in INDEX_KINDS}
    search_backend.ensure_indices()  # idempotent: the current indices stay
    assert {kind: search_backend.current_index(kind) for kind in INDEX_KINDS} == before
