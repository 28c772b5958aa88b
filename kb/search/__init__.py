"""Search: analysis, documents, the two backends, and keeping the index in step with the database.

``get_backend()`` returns the configured backend (``settings.SEARCH_BACKEND``), one per process.
"""

from __future__ import annotations

import threading

from django.conf import settings

from kb.search.backends.base import SearchBackend, SearchRequestRejected, SearchUnavailable

__all__ = ["SearchBackend", "SearchRequestRejected", "SearchUnavailable", "get_backend", "reset_backend"]

_lock = threading.Lock()
_backend: SearchBackend | None = None


def build_backend(name: str, prefix: str | None = None) -> SearchBackend:
    prefix = prefix or settings.SEARCH_INDEX_PREFIX
    if name == "elasticsearch":
        from kb.search.backends.elasticsearch import ElasticsearchBackend

        return ElasticsearchBackend(prefix)
    if name == "embedded":
        from kb.search.backends.embedded import EmbeddedBackend

        return EmbeddedBackend(prefix)
    raise ValueError(f"Unknown search backend {name!r} (expected 'elasticsearch' or 'embedded')")


def get_backend() -> SearchBackend:
    global _backend
    with _lock:
        if _backend is None:
            _backend = build_backend(settings.SEARCH_BACKEND)
        return _backend


def reset_backend(backend: SearchBackend | None = None) -> None:
    """Replace the process-wide backend (tests, or after settings change)."""
    global _backend
    with _lock:
        _backend = backend
