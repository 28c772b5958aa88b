"""Embedded search backend: Tantivy (a Rust BM25 engine) in a folder, no server.

The default when ``ELASTICSEARCH_URL`` is unset. Layout per kind under
``SEARCH_EMBEDDED_PATH/<prefix>/<kind>/``: one folder per physical index and a ``CURRENT`` file
naming the one readers use; a rebuild fills a new folder and rewrites ``CURRENT`` atomically
(``os.replace``), so search never stops.

Tantivy allows one writer per index across processes (a lock file). Writers wait for it
(``write_session``), and callers read the database *inside* the session, so whoever writes last
wrote the newest state. Versions are still checked, as on Elasticsearch.

Scoring is BM25 (k1=1.2, b=0.75, as Elasticsearch's default) over the same analysed terms.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import tantivy
from django.conf import settings

from kb.search.backends.base import INDEX_KINDS, SearchBackend, SearchUnavailable
from kb.search.documents import FACET_FIELDS, KEYWORD_FIELDS, Deletions, SearchDocument
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

_WRITER_HEAP = 50_000_000
_LOCK_WAIT_SECONDS = 30.0
_RETIRED_GRACE_SECONDS = 600.0
_SEARCH_THREADS = 2
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("entry_id", stored=True, indexed=True, fast=True)
    builder.add_integer_field("version", stored=True, fast=True)
    builder.add_integer_field("published_sort", fast=True)
    builder.add_integer_field("updated_sort", fast=True)
    builder.add_text_field("title_terms", tokenizer_name="terms", index_option="freq")
    builder.add_text_field("text_terms", tokenizer_name="terms", index_option="freq")
    for field in (*KEYWORD_FIELDS, "global_south"):
        builder.add_text_field(field, tokenizer_name="raw", fast=True, index_option="basic")
    builder.add_text_field("source", stored=True, tokenizer_name="raw", index_option="basic")
    return builder.build()


SCHEMA = _schema()
_TERMS_ANALYZER = tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.whitespace()).build()


def _micros(value: datetime | None) -> int:
    return int((value - _EPOCH).total_seconds() * 1_000_000) if value else 0


def _to_tantivy(document: SearchDocument) -> tantivy.Document:
    data = document.as_dict()
    # Vectors are searched from the database here (``similar``), not stored in the index.
    data.pop("text_vector", None)
    fields: dict = {
        "entry_id": document.entry_id,
        "version": document.version,
        "published_sort": _micros(document.published_at),
        "updated_sort": _micros(document.updated_at),
        "title_terms": document.title_terms,
        "text_terms": document.text_terms,
        "source": json.dumps(data, default=str, ensure_ascii=False),
    }
    for field in (*KEYWORD_FIELDS, "global_south"):
        value = data[field]
        values = value if isinstance(value, list) else [value]
        fields[field] = [str(v) for v in values if v not in ("", None)]
    return tantivy.Document(**fields)


class EmbeddedBackend(SearchBackend):
    name = "embedded"
    _open_lock = threading.Lock()
    _open: dict[str, tantivy.Index] = {}

    def __init__(self, prefix: str, root: Path | None = None):
        super().__init__(prefix)
        self.root = Path(root or settings.SEARCH_EMBEDDED_PATH) / prefix

    # --- layout --------------------------------------------------------------------------------
    def _kind_dir(self, kind: str) -> Path:
        return self.root / kind

    def current_index(self, kind: str) -> str | None:
        pointer = self._kind_dir(kind) / "CURRENT"
        try:
            name = pointer.read_text().strip()
        except FileNotFoundError:
            return None
        return name if (self._kind_dir(kind) / name).is_dir() else None

    def _index(self, kind: str, name: str | None = None) -> tantivy.Index:
        name = name or self.current_index(kind) or self._ensure_and_current(kind)
        path = str(self._kind_dir(kind) / name)
        with self._open_lock:
            index = self._open.get(path)
            if index is None:
                try:
                    index = tantivy.Index(SCHEMA, path=path, reuse=True)
                except ValueError as exc:
                    raise SearchUnavailable(f"cannot open search index {path}: {exc}") from exc
                index.register_tokenizer("terms", _TERMS_ANALYZER)
                self._open[path] = index
        return index

    def create_index(self, kind: str) -> str:
        name = f"{datetime.now(UTC):%Y%m%d%H%M%S%f}"
        path = self._kind_dir(kind) / name
        path.mkdir(parents=True, exist_ok=False)
        index = tantivy.Index(SCHEMA, path=str(path), reuse=False)
        index.register_tokenizer("terms", _TERMS_ANALYZER)
        with self._open_lock:
            self._open[str(path)] = index
        return name

    def make_current(self, kind: str, index: str) -> str | None:
        previous = self.current_index(kind)
        pointer = self._kind_dir(kind) / "CURRENT"
        tmp = pointer.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(index)
        os.replace(tmp, pointer)
        return previous if previous != index else None

    def drop_index(self, kind: str, index: str) -> None:
        """Retire a replaced index; remove retired ones once no writer can still be using them.

        A writer that opened the index just before a swap may still be committing to it, so a
        retired index is kept for ``_RETIRED_GRACE_SECONDS`` and removed by a later call.
        """
        kind_dir = self._kind_dir(kind)
        if index != self.current_index(kind) and (kind_dir / index).is_dir():
            (kind_dir / index / "RETIRED").write_text(str(time.time()))
        for marker in kind_dir.glob("*/RETIRED"):
            if time.time() - float(marker.read_text() or 0) > _RETIRED_GRACE_SECONDS:
                with self._open_lock:
                    self._open.pop(str(marker.parent), None)
                shutil.rmtree(marker.parent, ignore_errors=True)

    def drop_all(self) -> None:
        with self._open_lock:
            for path in [p for p in self._open if p.startswith(str(self.root))]:
                self._open.pop(path, None)
        shutil.rmtree(self.root, ignore_errors=True)

    # --- writes --------------------------------------------------------------------------------
    _writers = threading.local()

    @contextlib.contextmanager
    def write_session(self, kind: str, index: str | None = None) -> Iterator[None]:
        target = index or self.current_index(kind) or self._ensure_and_current(kind)
        idx = self._index(kind, target)
        deadline = time.monotonic() + _LOCK_WAIT_SECONDS
        while True:
            try:
                writer = idx.writer(heap_size=_WRITER_HEAP, num_threads=1)
                break
            except ValueError as exc:  # LockBusy: another process or thread is writing
                if time.monotonic() > deadline:
                    raise SearchUnavailable(f"search index busy: {exc}") from exc
                time.sleep(0.05)
        sessions = getattr(self._writers, "sessions", {})
        self._writers.sessions = sessions
        key = (kind, target)
        sessions[key] = writer
        try:
            yield
            writer.commit()
            writer.wait_merging_threads()
        except ValueError as exc:  # Tantivy reports I/O and index problems as ValueError
            _rollback_quietly(writer)
            raise SearchUnavailable(f"embedded search index error: {exc}") from exc
        except BaseException:
            _rollback_quietly(writer)
            raise
        finally:
            sessions.pop(key, None)
            del writer  # releases the lock file
        idx.reload()

    def _ensure_and_current(self, kind: str) -> str:
        self.ensure_indices()
        name = self.current_index(kind)
        if name is None:  # ensure_indices creates one per kind
            raise RuntimeError(f"the embedded search index of {kind!r} could not be created")
        return name

    def write(
        self,
        kind: str,
        documents: list[SearchDocument],
        deletions: Deletions | None = None,
        index: str | None = None,
    ) -> None:
        target = index or self.current_index(kind) or self._ensure_and_current(kind)
        writer = getattr(self._writers, "sessions", {}).get((kind, target))
        if writer is None:
            with self.write_session(kind, target):
                self.write(kind, documents, deletions, target)
            return
        indexed = self._versions_of(kind, target, [d.entry_id for d in documents])
        for document in documents:
            if indexed.get(document.entry_id, -1) > document.version:
                continue  # the index already holds a newer state
            writer.delete_documents_by_term("entry_id", document.entry_id)
            writer.add_document(_to_tantivy(document))
        for entry_id in deletions or {}:
            writer.delete_documents_by_term("entry_id", entry_id)

    def _versions_of(self, kind: str, index: str, ids: list[int]) -> dict[int, int]:
        if not ids:
            return {}
        searcher = self._index(kind, index).searcher()
        query = tantivy.Query.term_set_query(SCHEMA, "entry_id", ids)
        hits = searcher.search(query, limit=len(ids)).hits
        result = {}
        for _score, address in hits:
            doc = searcher.doc(address)
            result[doc["entry_id"][0]] = doc["version"][0]
        return result

    # --- reads ---------------------------------------------------------------------------------
    def _searcher(self, kind: str) -> tantivy.Searcher:
        index = self._index(kind)
        index.reload()
        return index.searcher()

    def compile(self, node: Node) -> tantivy.Query:
        """A ``kb.search.query`` node as a Tantivy query (filters score nothing: constant 0)."""
        Occur, Query = tantivy.Occur, tantivy.Query
        if isinstance(node, Term):
            term = Query.term_query(SCHEMA, node.field, node.value)
            return Query.boost_query(term, node.boost) if node.boost != 1.0 else term
        if isinstance(node, Terms):
            return Query.const_score_query(Query.term_set_query(SCHEMA, node.field, list(node.values)), node.boost)
        if isinstance(node, DisMax):
            best = Query.disjunction_max_query([self.compile(q) for q in node.queries])
            return Query.boost_query(best, node.boost) if node.boost != 1.0 else best
        should = [(Occur.Should, self.compile(q)) for q in node.should]
        if not node.filter and not node.must_not:
            return Query.boolean_query(should) if should else Query.all_query()
        parts = [(Occur.Must, Query.const_score_query(self.compile(f), 0.0)) for f in node.filter]
        if should:
            parts.append((Occur.Must, Query.boolean_query(should)))
        if not parts:  # only exclusions: of every document
            parts.append((Occur.Must, Query.all_query()))
        parts += [(Occur.MustNot, self.compile(q)) for q in node.must_not]
        return Query.boolean_query(parts)

    def search(self, request: SearchRequest) -> SearchResults:
        started = time.perf_counter()
        query = self.compile(self.request_query(request))
        by_relevance = request.by_relevance
        scored: list[tuple[tuple, int, dict]] = []
        total = 0
        facet_counts: dict[str, dict[str, int]] = {f: {} for f in request.facets}
        wanted = request.offset + request.limit
        for kind in request.kinds:
            searcher = self._searcher(kind)
            if by_relevance:
                result = searcher.search(query, limit=max(wanted, 1), count=True)
                hits = [(score, address) for score, address in result.hits]
            else:
                result = searcher.search(
                    query,
                    limit=max(wanted, 1),
                    count=True,
                    order_by_field="published_sort",
                    order=tantivy.Order.Desc,
                )
                hits = [(None, address) for _key, address in result.hits]
            total += result.count or 0  # type: ignore[attr-defined]  # tantivy.pyi omits SearchResult.count (set with count=True)
            for score, address in hits:
                source = json.loads(searcher.doc(address)["source"][0])
                sort_key = (
                    -(score or 0.0) if by_relevance else 0.0,
                    *(_descending(source.get(field)) for field in NEWEST_FIRST),
                )
                scored.append((sort_key, score, source))
            if request.facets:
                aggs = searcher.aggregate(
                    query,
                    {f: {"terms": {"field": FACET_FIELDS[f], "size": FACET_BUCKETS}} for f in request.facets},
                )
                for facet, agg in aggs.items():
                    for bucket in agg["buckets"]:
                        counts = facet_counts[facet]
                        counts[bucket["key"]] = counts.get(bucket["key"], 0) + bucket["doc_count"]
        scored.sort(key=lambda item: item[0])
        page = scored[request.offset : request.offset + request.limit]
        hits_out = [
            SearchHit(kind=source["kind"], entry_id=source["entry_id"], score=score, source=source)
            for _key, score, source in page
        ]
        add_highlights(request, hits_out)
        facets = {
            facet: sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])) for facet, counts in facet_counts.items()
        }
        return SearchResults(total=total, hits=hits_out, facets=facets, took_ms=(time.perf_counter() - started) * 1000)

    def candidates(
        self, kind: str, queries: list[TermQuery], size: int, visible_only_published: bool = True
    ) -> dict[int, list[tuple[int, float]]]:
        searcher = self._searcher(self.checked_kind(kind))
        entry_id = self._entry_id_reader(searcher, len(queries) * size)
        chunks = [queries[i : i + 250] for i in range(0, len(queries), 250)]
        results: dict[int, list[tuple[int, float]]] = {}
        # Tantivy searches without holding the GIL: two threads use both cores of a worker.
        with ThreadPoolExecutor(max_workers=_SEARCH_THREADS) as pool:
            for part in pool.map(
                lambda chunk: self._candidates_chunk(searcher, entry_id, chunk, size, visible_only_published), chunks
            ):
                results.update(part)
        return results

    def _candidates_chunk(
        self,
        searcher: tantivy.Searcher,
        entry_id: Callable[[tantivy.DocAddress], int],
        queries: list[TermQuery],
        size: int,
        visible_only_published: bool,
    ) -> dict[int, list[tuple[int, float]]]:
        results: dict[int, list[tuple[int, float]]] = {}
        for q in queries:
            query = self.candidate_query(q, visible_only_published)
            if query is None:
                results[q.key] = []
                continue
            hits = searcher.search(self.compile(query), limit=size).hits
            results[q.key] = [(entry_id(a), score) for score, a in hits]
        return results

    def similar(self, kind: str, queries: list[VectorQuery], size: int) -> dict[int, list[tuple[int, float]]]:
        """Exact cosine with numpy over the published entries' vectors (``kb.vectors.matrix``)."""
        from kb.vectors.matrix import published_matrix

        matrix = published_matrix(kind)
        results: dict[int, list[tuple[int, float]]] = {q.key: [] for q in queries}
        usable = [q for q in queries if len(q.vector) == matrix.vectors.shape[1]]  # same encoder
        if usable:
            found = matrix.nearest_many(
                np.asarray([q.vector for q in usable], dtype=np.float32), size, [q.exclude_country for q in usable]
            )
            results.update({q.key: hits for q, hits in zip(usable, found, strict=True)})
        return results

    _entry_id_maps: dict = {}

    def _entry_id_reader(self, searcher: tantivy.Searcher, hits: int) -> Callable[[tantivy.DocAddress], int]:
        """How to turn a hit's address into its entry id: for a few queries (re-scoring one need),
        read each hit's document; for many (a full run's batch), map every document once."""
        if hits < searcher.num_docs:
            return lambda address: searcher.doc(address)["entry_id"][0]
        mapping = self._entry_ids(searcher)
        return lambda address: mapping[(address.segment_ord, address.doc)]

    def _entry_ids(self, searcher: tantivy.Searcher) -> dict[tuple[int, int], int]:
        """Document address -> entry id for a whole searcher (cheaper than a stored-field read per hit)."""
        key = id(searcher)
        cached = self._entry_id_maps.get(key)
        if cached is not None and cached[0] is searcher:
            return cached[1]
        mapping = {}
        total = searcher.num_docs
        if total:
            for _score, address in searcher.search(tantivy.Query.all_query(), limit=total).hits:
                mapping[(address.segment_ord, address.doc)] = searcher.doc(address)["entry_id"][0]
        self._entry_id_maps.clear()
        self._entry_id_maps[key] = (searcher, mapping)
        return mapping

    def count(self, kind: str, index: str | None = None) -> int:
        idx = self._index(kind, index)
        idx.reload()
        return idx.searcher().num_docs

    def versions(self, kind: str, index: str | None = None) -> dict[int, int]:
        idx = self._index(kind, index)
        idx.reload()
        searcher = idx.searcher()
        total = searcher.num_docs
        result: dict[int, int] = {}
        if total:
            for _score, address in searcher.search(tantivy.Query.all_query(), limit=total).hits:
                doc = searcher.doc(address)
                result[doc["entry_id"][0]] = doc["version"][0]
        return result

    def health(self) -> dict:
        return {
            "backend": self.name,
            "path": str(self.root),
            "indices": {kind: self.current_index(kind) for kind in INDEX_KINDS},
        }


def _rollback_quietly(writer: tantivy.IndexWriter) -> None:
    with contextlib.suppress(ValueError):
        writer.rollback()


def _descending(value: str | int | None) -> tuple:
    """Sort key putting larger ids and later ISO timestamps first, and missing ones last."""
    if value is None or value == "":
        return (1, "")
    if isinstance(value, int):
        return (0, -value)
    return (0, "".join(chr(0x10FFFF - ord(c)) for c in value))
