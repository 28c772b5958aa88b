"""The interface every search backend implements.

Invariants shared by the backends:
- Per kind (offers, needs) readers use one *current* physical index; a rebuild fills a fresh one
  and then makes it current in one step (an alias swap, a pointer file), so search never stops.
- Writes carry the entry's ``row_version``; a write older than what the index holds is ignored.
- Every call that needs the service raises ``SearchUnavailable`` when it cannot answer (down,
  timing out, overloaded), never a backend-specific error, so callers can degrade one feature,
  retry later and carry on. A request the service *refuses* (a query or document we built wrong)
  is ``SearchRequestRejected``: a bug, never retried as if search were down.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator

from django.utils.translation import gettext as _

from core.errors import DomainError
from kb.search.documents import Deletions, SearchDocument
from kb.search.query import SearchRequest, SearchResults, TermQuery, VectorQuery


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


class SearchBackend(ABC):
    name: str

    def __init__(self, prefix: str):
        self.prefix = prefix

    # --- indices -------------------------------------------------------------------------------
    @abstractmethod
    def ensure_indices(self) -> None:
        """Create the current index of each kind if it does not exist yet."""

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
