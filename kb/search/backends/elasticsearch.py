"""Elasticsearch backend, through the Elasticsearch DSL shipped in the ``elasticsearch`` client.

Layout per kind (``offer``, ``need``) under the configured prefix, e.g. ``ta-prod``:
  physical indices ``ta-prod-offers-20261128093000123456`` (one current, maybe one being built)
  read alias ``ta-prod-offers`` and write alias ``ta-prod-offers-write`` on the current one.
A rebuild creates a physical index, fills it, then moves both aliases in one ``_aliases`` call.

Text fields use the core ``whitespace`` analyzer over terms analysed in Python
(``kb.search.analysis``), so no analysis plugin is needed (the CI node has none).
Writes use external versioning (``external_gte`` with the entry's ``row_version``), so a late,
stale write cannot overwrite a newer one. Removing an archived entry uses its row version too (a
later restore has a higher one); removing an entry deleted from the database uses a very high
version, leaving a tombstone that rejects a late re-index of it (entry ids are never reused).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any, cast

from django.conf import settings
from elasticsearch import Elasticsearch, helpers
from elasticsearch import exceptions as es_exceptions
from elasticsearch.dsl import Boolean, Date, Document, Integer, Keyword, Long, MetaField, Text

from core.breaker import CircuitBreaker
from kb.search.backends.base import (
    SearchBackend,
    SearchRequestRejected,
    SearchUnavailable,
    error_for_status,
    is_outage_status,
)
from kb.search.documents import FACET_FIELDS, Deletions, SearchDocument
from kb.search.query import (
    FACET_BUCKETS,
    NEWEST_FIRST,
    DisMax,
    Node,
    SearchHit,
    SearchRequest,
    SearchResults,
    Term,
    TermQuery,
    Terms,
    VectorQuery,
    add_highlights,
)
from kb.vectors.encoders import get_encoder

logger = logging.getLogger(__name__)

#: Searches from the request path: after SEARCH_BREAKER_FAILURES outages in a row, they fail at
#: once for SEARCH_BREAKER_SECONDS instead of each holding a web thread for the whole timeout.
search_breaker = CircuitBreaker(
    "search", failures=settings.SEARCH_BREAKER_FAILURES, reset_seconds=lambda: settings.SEARCH_BREAKER_SECONDS
)

DELETE_VERSION = 2**62
VECTOR_FIELD = "text_vector"
#: Everything the client raises: the service's answers (``ApiError``) and the transport's failures.
_ERRORS = (es_exceptions.ApiError, es_exceptions.TransportError)


def _search_error(exc: Exception) -> SearchUnavailable | SearchRequestRejected:
    """The backend-neutral error for a client exception (``error_for_status`` decides): a
    connection failure or timeout has no status (an outage); the service's answers carry theirs;
    a body that cannot be serialised never left (a bug)."""
    if isinstance(exc, es_exceptions.ApiError):
        return error_for_status(str(exc), exc.meta.status)
    if isinstance(exc, es_exceptions.ConnectionError | es_exceptions.ConnectionTimeout):
        return error_for_status(str(exc), None)
    return SearchRequestRejected(str(exc))


class EntryDocument(Document):
    """Mapping shared by the offers and needs indices."""

    kind = Keyword()
    entry_id = Long()
    version = Long()
    title = Text(index=False)
    description = Text(index=False)
    title_terms = Text(analyzer="whitespace", norms=True)
    text_terms = Text(analyzer="whitespace", norms=True)
    articles = Keyword()
    chapters = Keyword()
    ta_types = Keyword()
    thematic_areas = Keyword()
    concepts = Keyword()
    keywords = Keyword(index=False)
    country = Keyword()
    country_name = Keyword(index=False)
    organisation = Keyword(index=False)
    region = Keyword()
    subregion = Keyword()
    regional_group = Keyword()
    g77 = Keyword()
    m49_developing = Keyword()
    global_south = Keyword()
    language = Keyword()
    working_languages = Keyword()
    modalities = Keyword()
    status = Keyword()
    owners = Keyword()
    capacity = Integer()
    priority = Keyword()
    south_south_preference = Keyword()
    published_at = Date()
    updated_at = Date()
    has_published = Boolean()

    class Meta:
        dynamic = MetaField("strict")


def _source(document: SearchDocument, vector_dims: int | None) -> dict:
    data = document.as_dict()
    if len(data.get("text_vector") or ()) != vector_dims:
        # Another encoder's vector (until reconciled), or an index made for another encoder
        # (until rebuilt): leave it out; the entry's text is indexed, kNN misses it meanwhile.
        data.pop("text_vector", None)
    data["has_published"] = document.published_at is not None
    return data


class ElasticsearchBackend(SearchBackend):
    name = "elasticsearch"

    def __init__(self, prefix: str, url: str | None = None):
        super().__init__(prefix)
        self.client = Elasticsearch(
            url or settings.ELASTICSEARCH_URL,
            request_timeout=settings.SEARCH_INDEXING_TIMEOUT,
            max_retries=1,
            retry_on_timeout=False,
        )

    # --- names ---------------------------------------------------------------------------------
    def read_alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}s"

    def write_alias(self, kind: str) -> str:
        return f"{self.prefix}-{kind}s-write"

    def _fast(self) -> Elasticsearch:
        return self.client.options(request_timeout=settings.SEARCH_REQUEST_TIMEOUT)

    # --- indices -------------------------------------------------------------------------------
    def _vector_mapping(self) -> dict:
        """The text vector field for the configured encoder: kNN by cosine, left out of _source
        (the database holds the vectors; documents are rebuilt from it)."""
        encoder = get_encoder()
        if not encoder.enabled:
            return {}
        return {VECTOR_FIELD: {"type": "dense_vector", "dims": encoder.dim, "index": True, "similarity": "cosine"}}

    def _index_body(self) -> dict:
        mapping = EntryDocument._doc_type.mapping.to_dict()
        mapping["properties"].update(self._vector_mapping())
        mapping["_source"] = {"excludes": [VECTOR_FIELD]}
        return {
            "settings": {
                "number_of_shards": settings.SEARCH_NUMBER_OF_SHARDS,
                "number_of_replicas": settings.SEARCH_NUMBER_OF_REPLICAS,
                # Keep delete tombstones long enough to reject a re-index racing a delete.
                "index.gc_deletes": "10m",
            },
            "mappings": mapping,
        }

    def create_index(self, kind: str) -> str:
        name = f"{self.read_alias(kind)}-{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        try:
            self.client.indices.create(index=name, **self._index_body())
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        return name

    def current_index(self, kind: str) -> str | None:
        try:
            aliases = self.client.indices.get_alias(name=self.read_alias(kind))
        except es_exceptions.NotFoundError:
            return None
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        names = sorted(aliases.body)
        return names[-1] if names else None

    def upgrade_index(self, kind: str, index: str) -> None:
        """Indices made before the text vectors get the field added in place (a new field is a
        compatible mapping change); a field of other dimensions (the encoder changed) needs
        ``rebuild_search_index``, and says so."""
        wanted = self._vector_mapping()
        if not wanted:
            return
        try:
            mapping = self.client.indices.get_mapping(index=index)[index]["mappings"]
            present = mapping.get("properties", {}).get(VECTOR_FIELD)
            if present is None:
                self.client.indices.put_mapping(index=index, properties=wanted)
            elif present.get("dims") != wanted[VECTOR_FIELD]["dims"]:
                logger.error(
                    "index %s holds %s-dimension vectors but the encoder gives %s: run rebuild_search_index",
                    index,
                    present.get("dims"),
                    wanted[VECTOR_FIELD]["dims"],
                )
        except _ERRORS as exc:
            raise _search_error(exc) from exc

    def _vector_dims(self, index: str) -> int | None:
        """The dimensions of ``index``'s vector field as mapped now (None: no such field). Read on
        each write with vectors: after a change of encoder the current index keeps the old
        dimensions until ``rebuild_search_index``, and a vector of the new ones would be refused."""
        encoder = get_encoder()
        if not encoder.enabled:
            return None
        try:
            mappings = self.client.indices.get_mapping(index=index)
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        for body in mappings.body.values():
            field = body["mappings"].get("properties", {}).get(VECTOR_FIELD)
            return field.get("dims") if field else None
        return None

    def make_current(self, kind: str, index: str) -> str | None:
        previous = self.current_index(kind)
        actions: list[dict] = []
        if previous and previous != index:
            actions += [
                {"remove": {"index": previous, "alias": self.read_alias(kind)}},
                {"remove": {"index": previous, "alias": self.write_alias(kind)}},
            ]
        actions += [
            {"add": {"index": index, "alias": self.read_alias(kind)}},
            {"add": {"index": index, "alias": self.write_alias(kind), "is_write_index": True}},
        ]
        try:
            self.client.indices.update_aliases(actions=actions)
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        return previous if previous != index else None

    def drop_index(self, kind: str, index: str) -> None:
        try:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        except _ERRORS as exc:
            raise _search_error(exc) from exc

    def drop_all(self) -> None:
        try:
            self.client.indices.delete(index=f"{self.prefix}-*", ignore_unavailable=True)
        except _ERRORS as exc:
            raise _search_error(exc) from exc

    # --- writes --------------------------------------------------------------------------------
    def write(
        self,
        kind: str,
        documents: list[SearchDocument],
        deletions: Deletions | None = None,
        index: str | None = None,
    ) -> None:
        target = index or self.write_alias(kind)
        vector_dims = self._vector_dims(target) if any(doc.text_vector for doc in documents) else None
        actions: list[dict] = [
            {
                "_op_type": "index",
                "_index": target,
                "_id": str(doc.entry_id),
                "version": doc.version,
                "version_type": "external_gte",
                "_source": _source(doc, vector_dims),
            }
            for doc in documents
        ]
        actions += [
            {
                "_op_type": "delete",
                "_index": target,
                "_id": str(entry_id),
                "version": DELETE_VERSION if version is None else version,
                "version_type": "external_gte",
            }
            for entry_id, version in (deletions or {}).items()
        ]
        if not actions:
            return
        try:
            _ok, errors = helpers.bulk(
                self.client,
                actions,
                raise_on_error=False,
                raise_on_exception=True,
                refresh=settings.SEARCH_REFRESH_ON_WRITE,
                chunk_size=500,
            )
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        # A version conflict means the index already holds something newer (or a tombstone), and
        # deleting what is not there is fine: neither is an error.
        refused = cast(list[dict[str, Any]], errors)  # a list of items, since stats_only is off
        items = [next(iter(e.values())) for e in refused]
        real_errors = [item for item in items if item.get("status") not in (404, 409)]
        if real_errors:
            # One item refused for a passing reason (a busy shard) makes the batch worth retrying.
            statuses = [item.get("status") for item in real_errors]
            status = next((st for st in statuses if is_outage_status(st)), statuses[0])
            raise error_for_status(f"{len(real_errors)} documents refused: {real_errors[:3]}", status)

    # --- reads ---------------------------------------------------------------------------------
    def compile(self, node: Node) -> dict[str, Any]:
        """A ``kb.search.query`` node as Query DSL (a ``terms`` query scores its constant boost)."""
        if isinstance(node, Term):
            term: dict[str, Any] = {"value": node.value}
            if node.boost != 1.0:
                term["boost"] = node.boost
            return {"term": {node.field: term}}
        if isinstance(node, Terms):
            terms: dict[str, Any] = {node.field: list(node.values)}
            if node.boost != 1.0:
                terms["boost"] = node.boost
            return {"terms": terms}
        if isinstance(node, DisMax):
            return {"dis_max": {"queries": [self.compile(q) for q in node.queries], "boost": node.boost}}
        query: dict[str, Any] = {"filter": [self.compile(f) for f in node.filter]}
        if node.should:
            # Explicit: next to a filter, Elasticsearch would otherwise make should clauses optional.
            query["should"] = [self.compile(q) for q in node.should]
            query["minimum_should_match"] = 1
        if node.must_not:
            query["must_not"] = [self.compile(q) for q in node.must_not]
        return {"bool": query}

    def search(self, request: SearchRequest) -> SearchResults:
        sort: list = []
        if request.by_relevance:
            sort.append("_score")
        sort += [{field: {"order": "desc", "missing": "_last"}} for field in NEWEST_FIRST]
        body: dict[str, Any] = {
            "query": self.compile(self.request_query(request)),
            "from": request.offset,
            "size": request.limit,
            "sort": sort,
            "track_total_hits": True,
            "track_scores": True,
            "timeout": f"{int(settings.SEARCH_REQUEST_TIMEOUT * 1000)}ms",
            "aggs": {
                facet: {"terms": {"field": FACET_FIELDS[facet], "size": FACET_BUCKETS}} for facet in request.facets
            },
        }
        started = time.perf_counter()
        if not search_breaker.allow():
            raise SearchUnavailable("search failed repeatedly; not trying again for a while (circuit open)")
        try:
            response = self._fast().search(
                index=[self.read_alias(kind) for kind in request.kinds],
                ignore_unavailable=True,
                **body,
            )
        except _ERRORS as exc:
            error = _search_error(exc)
            if isinstance(error, SearchUnavailable):
                search_breaker.failure(exc)
            raise error from exc
        search_breaker.success()
        hits = [
            SearchHit(
                kind=hit["_source"]["kind"],
                entry_id=hit["_source"]["entry_id"],
                score=hit.get("_score"),
                source=hit["_source"],
            )
            for hit in response["hits"]["hits"]
        ]
        add_highlights(request, hits)
        facets = {
            facet: [(str(b["key"]), b["doc_count"]) for b in agg["buckets"]]
            for facet, agg in response.get("aggregations", {}).items()
        }
        return SearchResults(
            total=response["hits"]["total"]["value"],
            hits=hits,
            facets=facets,
            took_ms=(time.perf_counter() - started) * 1000,
        )

    def candidates(
        self, kind: str, queries: list[TermQuery], size: int, visible_only_published: bool = True
    ) -> dict[int, list[tuple[int, float]]]:
        self.checked_kind(kind)
        results: dict[int, list[tuple[int, float]]] = {}
        batch = 100
        for start in range(0, len(queries), batch):
            chunk = queries[start : start + batch]
            searches: list[dict] = []
            asked: list[TermQuery] = []
            for q in chunk:
                query = self.candidate_query(q, visible_only_published)
                if query is None:
                    results[q.key] = []
                    continue
                asked.append(q)
                searches.append({"index": self.read_alias(kind)})
                searches.append(
                    {
                        "size": size,
                        # Only the best ``size``: no hit count (lets Lucene skip documents that
                        # cannot reach the top), and the entry id read from the document's _id.
                        "track_total_hits": False,
                        "_source": False,
                        "query": self.compile(query),
                    }
                )
            if not searches:
                continue
            try:
                response = self.client.msearch(searches=searches)
            except _ERRORS as exc:
                raise _search_error(exc) from exc
            for q, item in zip(asked, response["responses"], strict=True):
                if "error" in item:
                    raise error_for_status(str(item["error"]), item.get("status"))
                results[q.key] = [(int(hit["_id"]), hit["_score"]) for hit in item["hits"]["hits"]]
        return results

    def similar(self, kind: str, queries: list[VectorQuery], size: int) -> dict[int, list[tuple[int, float]]]:
        """kNN on the text vector field, in one ``_msearch`` per hundred queries.

        Plain ``knn`` search (the ``rrf`` retriever needs a paid licence): lexical and semantic
        candidates are fused by the caller. Scores are Elasticsearch's cosine scores mapped back
        to cosines (``2 * score - 1``).
        """
        if not get_encoder().enabled or not queries:
            return {q.key: [] for q in queries}
        results: dict[int, list[tuple[int, float]]] = {}
        for start in range(0, len(queries), 100):
            chunk = queries[start : start + 100]
            searches: list[dict] = []
            for q in chunk:
                knn: dict = {
                    "field": VECTOR_FIELD,
                    "query_vector": [round(float(v), 6) for v in q.vector],
                    "k": size,
                    "num_candidates": max(100, 4 * size),
                    "filter": self.compile(self.vector_filter(q)),
                }
                searches.append({"index": self.read_alias(kind)})
                searches.append({"knn": knn, "size": size, "_source": False})
            try:
                response = self.client.msearch(searches=searches)
            except _ERRORS as exc:
                raise _search_error(exc) from exc
            for q, item in zip(chunk, response["responses"], strict=True):
                if "error" in item:
                    raise error_for_status(str(item["error"]), item.get("status"))
                results[q.key] = [(int(hit["_id"]), 2 * hit["_score"] - 1) for hit in item["hits"]["hits"]]
        return results

    def count(self, kind: str, index: str | None = None) -> int:
        try:
            return self._fast().count(index=index or self.read_alias(kind))["count"]
        except es_exceptions.NotFoundError:
            return 0
        except _ERRORS as exc:
            raise _search_error(exc) from exc

    def versions(self, kind: str, index: str | None = None) -> dict[int, int]:
        result: dict[int, int] = {}
        try:
            for hit in helpers.scan(
                self.client,
                index=index or self.read_alias(kind),
                query={"query": {"match_all": {}}, "_source": False, "fields": ["entry_id", "version"]},
                size=5000,
                preserve_order=False,
            ):
                result[hit["fields"]["entry_id"][0]] = hit["fields"]["version"][0]
        except es_exceptions.NotFoundError:
            return {}
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        return result

    def refresh(self) -> None:
        try:
            self.client.indices.refresh(index=f"{self.prefix}-*")
        except _ERRORS as exc:
            raise _search_error(exc) from exc

    def health(self) -> dict:
        try:
            info = self._fast().cluster.health()
        except _ERRORS as exc:
            raise _search_error(exc) from exc
        return {"backend": self.name, "cluster_status": info["status"]}
