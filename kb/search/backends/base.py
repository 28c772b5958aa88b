"""The interface every search backend implements.

Invariants shared by the backends:
- Per kind (offers, needs) readers use one *current* physical index; a rebuild fills a fresh one
  and then makes it current in one step (an alias swap, a pointer file), so search never stops.
- Writes carry the entry's ``row_version``; a write older than what the index holds is ignored.
- Every call that needs the service raises ``SearchUnavailable`` when it cannot answer (down,
  timing out, overloaded), never a backend-specific error, so callers can degrade one feature,
  retry later and carry on. A request the service *refuses* (a query or document we built wrong)
  is ``SearchRequestRejected``: a bug, never retried as if search were down. Which failures are
  which is decided here once (``error_for_status``); a backend only reports what it saw.
- The clause rules (what is searchable by whom, facet filters, how words, concepts and articles
  weigh, the excluded country) are written once here as a tree of ``kb.search.query`` nodes
  (``request_query``, ``candidate_query``, ``vector_filter``); a backend compiles nodes
  (``compile``) and never writes a rule of its own.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from core.errors import DomainError
from kb.models import EntryKind, EntryStatus
from kb.search.documents import FACET_FIELDS, Deletions, SearchDocument
from kb.search.query import (
    ARTICLE_BOOST,
    CONCEPT_BOOST,
    TEXT_BOOST,
    TITLE_BOOST,
    Bool,
    DisMax,
    Node,
    SearchRequest,
    SearchResults,
    Term,
    TermQuery,
    Terms,
    VectorQuery,
)

#: One index (and one current physical index) per kind of entry.
INDEX_KINDS: tuple[str, ...] = tuple(EntryKind.values)

#: Everyone may find a published entry; others only its owners and moderators.
PUBLISHED = Term("status", str(EntryStatus.PUBLISHED))


class SearchUnavailable(DomainError):
    """The search service cannot answer right now (down, timing out, or refusing writes).

    ``str()`` keeps the technical reason (logs, the sync state, health); users read
    ``user_message``. The API answers 503: one feature is degraded, the rest works.
    """

    code = "search_unavailable"
    status_code = 503

    @property
    def user_message(self) -> str:
        # The search page's own sentence (web/templates/web/browse.html), in the active language.
        return _("Search is temporarily unavailable. Everything else works; please try again in a moment.")


class SearchRequestRejected(Exception):
    """The search service answered and refused the request: the query, document or index change
    we sent is wrong (Elasticsearch's 4xx other than a missing index). Retrying cannot help, so
    no task retries it and no page calls it an outage: it fails loudly (a 500, a failed task) and
    reaches error monitoring. ``status`` is the service's HTTP status when it gave one."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


def is_outage_status(status: int | None) -> bool:
    """Statuses meaning "not now" rather than "not this": no answer at all (a connection failure,
    a timeout of the transport), 5xx, a timeout (408), backpressure (429, Elasticsearch's rejected
    execution, to be retried with backoff), and 404 where the caller expects the index to exist
    (it is created again by ``ensure_indices`` and the reconcile). Everything else the service
    answers (a 4xx: a bad query, a document the mapping refuses) is a refused request."""
    return status is None or status >= 500 or status in (404, 408, 429)


def error_for_status(message: str, status: int | None) -> SearchUnavailable | SearchRequestRejected:
    """The backend-neutral error for a failure the service answered with ``status`` (None: no answer)."""
    if is_outage_status(status):
        return SearchUnavailable(message)
    return SearchRequestRejected(message, status=status)


def _facet_field(facet: str) -> str:
    try:
        return FACET_FIELDS[facet]
    except KeyError:
        raise SearchRequestRejected(f"unknown facet {facet!r} (known: {', '.join(FACET_FIELDS)})") from None


class SearchBackend(ABC):
    name: str

    def __init__(self, prefix: str):
        self.prefix = prefix

    # --- the clause rules (one home; backends compile the nodes) ---------------------------------
    @staticmethod
    def text_clauses(request: SearchRequest) -> tuple[Node, ...]:
        """One clause per query word (its alternatives across languages: the best one counts, in
        the title more than in the body), one per concept found in the query."""
        clauses: list[Node] = []
        for group in request.groups:
            alternatives = sorted(group.alternatives)
            title = DisMax(tuple(Term("title_terms", a) for a in alternatives), boost=TITLE_BOOST)
            text = DisMax(tuple(Term("text_terms", a) for a in alternatives), boost=TEXT_BOOST)
            clauses.append(Bool(should=(title, text)))
        clauses += [Term("concepts", c, boost=CONCEPT_BOOST) for c in request.concepts]
        return tuple(clauses)

    @staticmethod
    def request_filters(request: SearchRequest) -> tuple[Node, ...]:
        """The facet filters (whitelisted: an unknown facet is a refused request), who may see
        what, and the entry ids of an alert's check."""
        filters: list[Node] = [
            Terms(_facet_field(facet), tuple(values)) for facet, values in request.filters.items() if values
        ]
        if request.visible_to_owners is not None:
            visibility: list[Node] = [PUBLISHED]
            if request.visible_to_owners:
                visibility.append(Terms("owners", tuple(request.visible_to_owners)))
            filters.append(Bool(should=tuple(visibility)))
        if request.entry_ids is not None:
            filters.append(Terms("entry_id", tuple(request.entry_ids)))
        return tuple(filters)

    @staticmethod
    def checked_kind(kind: str) -> str:
        """``kind``, if it has an index (offers, needs); otherwise the request is refused."""
        if kind not in INDEX_KINDS:
            raise SearchRequestRejected(f"unknown kind of entry {kind!r} (known: {', '.join(INDEX_KINDS)})")
        return kind

    @classmethod
    def request_query(cls, request: SearchRequest) -> Bool:
        """The whole query of a search (of known kinds and facets): its filters, and its words and
        concepts when it has any."""
        for kind in request.kinds:
            cls.checked_kind(kind)
        for facet in request.facets:
            _facet_field(facet)
        should = cls.text_clauses(request) if request.is_text_query else ()
        return Bool(should=should, filter=cls.request_filters(request))

    @staticmethod
    def exclusions(exclude_country: str) -> tuple[Node, ...]:
        """Matching never proposes an entry of the asker's own State."""
        return (Term("country", exclude_country),) if exclude_country else ()

    @classmethod
    def candidate_query(cls, query: TermQuery, visible_only_published: bool = True) -> Bool | None:
        """Matching's lexical query: each analysed term weighted by the need's own weight (in the
        title more than in the body), its concepts, a constant for shared UNCAC articles. None
        when it has nothing to score with: no candidates."""
        should: list[Node] = []
        for alternatives, weight in zip(query.groups, query.weights, strict=True):
            for term in sorted(alternatives):  # matching queries have one alternative per group
                should.append(Term("title_terms", term, boost=TITLE_BOOST * weight))
                should.append(Term("text_terms", term, boost=TEXT_BOOST * weight))
        should += [Term("concepts", c, boost=CONCEPT_BOOST) for c in query.concepts]
        if query.articles:
            should.append(Terms("articles", tuple(query.articles), boost=ARTICLE_BOOST))
        if not should:
            return None
        return Bool(
            should=tuple(should),
            filter=(PUBLISHED,) if visible_only_published else (),
            must_not=cls.exclusions(query.exclude_country),
        )

    @classmethod
    def vector_filter(cls, query: VectorQuery) -> Bool:
        """Which entries a kNN query may return: published ones, not of the excluded country."""
        return Bool(filter=(PUBLISHED,), must_not=cls.exclusions(query.exclude_country))

    @abstractmethod
    def compile(self, node: Node) -> Any:
        """``node`` in the backend's own query language, with the meaning ``kb.search.query`` gives it."""

    # --- indices -------------------------------------------------------------------------------
    def ensure_indices(self) -> None:
        """Create the current index of each kind if it does not exist yet, and bring an existing
        one up to date (``upgrade_index``)."""
        for kind in INDEX_KINDS:
            current = self.current_index(kind)
            if current is None:
                self.make_current(kind, self.create_index(kind))
            else:
                self.upgrade_index(kind, current)

    def upgrade_index(self, kind: str, index: str) -> None:
        """Make compatible changes to an existing current index (a no-op unless the backend needs one)."""
        return None

    @abstractmethod
    def create_index(self, kind: str) -> str:
        """Create a fresh, not-yet-current physical index for ``kind`` and return its name."""

    @abstractmethod
    def make_current(self, kind: str, index: str) -> str | None:
        """Atomically make ``index`` the current one for ``kind``; return the one it replaced."""

    @abstractmethod
    def drop_index(self, kind: str, index: str) -> None: ...

    @abstractmethod
    def current_index(self, kind: str) -> str | None: ...

    @abstractmethod
    def drop_all(self) -> None:
        """Remove every index under this backend's prefix (tests and teardown)."""

    # --- writes --------------------------------------------------------------------------------
    @contextlib.contextmanager
    def write_session(self, kind: str, index: str | None = None) -> Iterator[None]:
        """Hold whatever the backend needs to write ``kind`` (the embedded one takes a lock).

        Callers read the database *inside* the session so that, with a lock, the last writer
        always wrote the newest state.
        """
        yield

    @abstractmethod
    def write(
        self,
        kind: str,
        documents: list[SearchDocument],
        deletions: Deletions | None = None,
        index: str | None = None,
    ) -> None:
        """Upsert ``documents`` and apply ``deletions`` in ``index`` (default: the current one)."""

    # --- reads ---------------------------------------------------------------------------------
    @abstractmethod
    def search(self, request: SearchRequest) -> SearchResults: ...

    @abstractmethod
    def candidates(
        self, kind: str, queries: list[TermQuery], size: int, visible_only_published: bool = True
    ) -> dict[int, list[tuple[int, float]]]:
        """For each query, the best ``size`` entries of ``kind`` as (entry id, score), best first."""

    @abstractmethod
    def similar(self, kind: str, queries: list[VectorQuery], size: int) -> dict[int, list[tuple[int, float]]]:
        """For each query vector, the ``size`` published entries of ``kind`` whose text vectors are
        closest (cosine), as (entry id, similarity), best first; entries of the query's excluded
        country never. Empty lists where no vectors exist (the ``none`` encoder)."""

    def refresh(self) -> None:
        """Make what was just written visible to searches (a no-op where it is at once)."""
        return None

    @abstractmethod
    def count(self, kind: str, index: str | None = None) -> int: ...

    @abstractmethod
    def versions(self, kind: str, index: str | None = None) -> dict[int, int]:
        """Entry id -> indexed version, for every document in the index."""

    @abstractmethod
    def health(self) -> dict: ...
