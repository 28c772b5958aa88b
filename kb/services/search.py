"""Searching as a user: the one place a search may write before it reads.

Embedded mode has no beat to drain the search outbox, so the first search after an index update
that did not finish (a crash between commit and indexing) finishes it here. The selector
(``kb.selectors.entry_search``) only reads; web and API call this service.
"""

from __future__ import annotations

from accounts.models import User
from kb.models import SearchOutbox
from kb.search import get_backend
from kb.search.query import SearchResults
from kb.search.sync import search_outbox_drain
from kb.selectors import entry_search

#: How many outbox batches one search may drain before it answers (the rest wait for the next).
CATCH_UP_BATCHES = 20


def entries_search(
    *,
    user: User,
    text: str = "",
    kinds: tuple[str, ...] = ("offer", "need"),
    filters: dict[str, list[str]] | None = None,
    sort: str = "relevance",
    page: int = 1,
    page_size: int = 25,
) -> SearchResults:
    """What ``user`` may see matching the query, after an embedded catch-up of the outbox."""
    backend = get_backend()
    if backend.name == "embedded" and SearchOutbox.objects.exists():
        search_outbox_drain(backend=backend, max_batches=CATCH_UP_BATCHES)
    return entry_search(user=user, text=text, kinds=kinds, filters=filters, sort=sort, page=page, page_size=page_size)
