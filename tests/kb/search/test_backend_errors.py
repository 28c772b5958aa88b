"""Which search errors are an outage (retried, a 503) and which are a refused request (a bug:
never retried as if search were down, it fails loudly). Against the real Elasticsearch node."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from elastic_transport import ApiResponseMeta, HttpHeaders, NodeConfig
from elasticsearch import exceptions as es_exceptions

from kb.models import EntryStatus, SearchOutbox, SearchSyncState
from kb.search import SearchRequestRejected, SearchUnavailable, reset_backend
from kb.search.backends.elasticsearch import ElasticsearchBackend, _search_error
from kb.search.query import MAX_RESULT_WINDOW, SearchRequest, TermQuery
from kb.search.sync import search_reconcile
from kb.tasks import search_index_entries_task
from tests.conftest import make_search_backend
from tests.factories import OfferFactory

pytestmark = pytest.mark.django_db


def _api_error(status: int) -> es_exceptions.ApiError:
    meta = ApiResponseMeta(
        status=status, http_version="1.1", headers=HttpHeaders(), duration=0.0, node=NodeConfig("http", "es", 9200)
    )
    return es_exceptions.ApiError(message=f"status {status}", meta=meta, body={})


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, SearchRequestRejected),
        (401, SearchRequestRejected),
        (403, SearchRequestRejected),
        (413, SearchRequestRejected),
        (404, SearchUnavailable),  # an index missing: ensure_indices and the reconcile create it
        (408, SearchUnavailable),
        (429, SearchUnavailable),  # backpressure: retry with backoff
        (500, SearchUnavailable),
        (503, SearchUnavailable),
    ],
)
def test_only_timeouts_backpressure_and_server_errors_are_an_outage(status, expected):
    error = _search_error(_api_error(status))
    assert type(error) is expected
    if expected is SearchRequestRejected:
        assert error.status == status


def test_transport_failures_are_an_outage_but_a_body_that_cannot_be_sent_is_a_bug():
    assert isinstance(_search_error(es_exceptions.ConnectionError("refused")), SearchUnavailable)
    assert isinstance(_search_error(es_exceptions.ConnectionTimeout("slow")), SearchUnavailable)
    assert isinstance(_search_error(es_exceptions.SerializationError("not JSON")), SearchRequestRejected)


@pytest.fixture
def es_backend(elasticsearch_url):
    backend = make_search_backend("elasticsearch")
    reset_backend(backend)
    yield backend
    backend.drop_all()
    reset_backend(None)


@pytest.mark.elasticsearch
def test_a_query_elasticsearch_refuses_is_not_reported_as_search_being_down(es_backend):
    with pytest.raises(SearchRequestRejected) as excinfo:
        es_backend.search(SearchRequest(kinds=("offer",), visible_to_owners=None, offset=MAX_RESULT_WINDOW))
    assert excinfo.value.status == 400
    assert "result window" in str(excinfo.value).lower()


@pytest.mark.elasticsearch
def test_a_refused_search_in_a_batch_is_a_bug_too(es_backend):
    query = TermQuery(key=1, groups=[frozenset({"audit"})], weights=[1.0], concepts=[])
    with pytest.raises(SearchRequestRejected):
        es_backend.candidates("offer", [query], size=MAX_RESULT_WINDOW + 1)


@pytest.mark.elasticsearch
def test_an_unreachable_node_is_an_outage(es_backend):
    down = ElasticsearchBackend(es_backend.prefix, url="http://127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(SearchUnavailable):
        down.search(SearchRequest(kinds=("offer",), visible_to_owners=None))


def _point_offers_at_an_index_refusing_documents(backend) -> None:
    """The offers' aliases moved to an index whose strict mapping knows none of the document's
    fields, as after a deploy that changed the documents but not the index."""
    name = f"{backend.read_alias('offer')}-incompatible"
    backend.client.indices.create(
        index=name, mappings={"dynamic": "strict", "properties": {"kind": {"type": "keyword"}}}
    )
    backend.make_current("offer", name)


@pytest.mark.elasticsearch
def test_a_document_the_index_refuses_fails_the_indexing_task_and_keeps_the_work(es_backend):
    offer = OfferFactory(status=EntryStatus.PUBLISHED)
    assert SearchOutbox.objects.filter(entry_kind="offer", entry_id=offer.pk).exists()
    _point_offers_at_an_index_refusing_documents(es_backend)

    # Not deferred as an outage (the eager run would swallow that and return 0): it fails.
    with pytest.raises(SearchRequestRejected) as excinfo:
        search_index_entries_task.apply(args=("offer", [offer.pk]))
    assert excinfo.value.status == 400
    assert SearchOutbox.objects.filter(entry_kind="offer", entry_id=offer.pk).exists()


@pytest.mark.elasticsearch
def test_the_reconcile_records_a_refused_request_and_fails(es_backend):
    OfferFactory(status=EntryStatus.PUBLISHED)
    _point_offers_at_an_index_refusing_documents(es_backend)
    with pytest.raises(SearchRequestRejected):
        search_reconcile(backend=es_backend)
    assert "strict_dynamic_mapping" in SearchSyncState.objects.get(entry_kind="offer").last_error


def test_users_read_that_search_is_down_in_their_language():
    from django.utils import translation

    error = SearchUnavailable("connection refused on 10.0.0.7:9200")
    with translation.override("fr"):
        assert error.user_message.startswith("La recherche est temporairement indisponible.")
    assert "10.0.0.7" in str(error)
    assert "10.0.0.7" not in error.user_message


class _HungNode:
    """A listening socket that accepts connections and never answers (a hung node), counting them."""

    def __init__(self):
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(16)
        self.connections: list = []
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _address = self.server.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self):
        self.server.close()
        for connection in self.connections:
            connection.close()


@pytest.mark.elasticsearch
def test_searches_against_a_hung_node_open_the_circuit_then_it_closes(es_backend, settings):
    from kb.search.backends.elasticsearch import search_breaker

    settings.SEARCH_REQUEST_TIMEOUT = 0.3
    settings.SEARCH_BREAKER_SECONDS = 1
    node = _HungNode()
    try:
        hung = ElasticsearchBackend(es_backend.prefix, url=node.url)
        request = SearchRequest(kinds=("offer",), visible_to_owners=None)
        for _attempt in range(settings.SEARCH_BREAKER_FAILURES):
            with pytest.raises(SearchUnavailable):
                hung.search(request)
        tried = len(node.connections)
        assert tried >= 1
        with pytest.raises(SearchUnavailable, match="circuit open"):
            hung.search(request)
        assert len(node.connections) == tried, "an open circuit does not even connect"
        assert search_breaker.is_open
    finally:
        node.close()
    time.sleep(1.1)
    es_backend.search(request)  # half-open: one search tries, succeeds, and closes the circuit
    assert not search_breaker.is_open
    es_backend.search(request)
