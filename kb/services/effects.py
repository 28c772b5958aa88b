"""Side effects of entry changes, scheduled after the transaction commits.

Kept in one place so every write path (API, admin, import, moderation) triggers the same things:
search indexing, the entries' vectors and, once those are current, re-scoring. Recorders (another
app's durable record of work to do, such as matching's re-scoring requests) run at once, inside the
writing transaction, so the work is kept even when everything after the commit fails. Inside ``effects_batched()`` the
ids are collected and scheduled once per kind, so a bulk import queues a handful of tasks, not one
per entry.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import transaction

_state = threading.local()


def _dispatch(kind: str, ids: list[int]) -> None:
    from kb.search.sync import enqueue_search_sync
    from kb.vectors.sync import enqueue_entry_vectors

    enqueue_search_sync(kind, ids)
    # The hooks run once the entries' vectors are current (matching re-scores with them).
    if not enqueue_entry_vectors(kind, ids):
        entry_features_ready(kind, ids)


_hooks: list = []
_recorders: list = []


def register_entry_change_recorder(recorder) -> None:
    """Let another app record, inside the writing transaction, that entries changed; called with
    (kind, ids)."""
    if recorder not in _recorders:
        _recorders.append(recorder)


def _record(kind: str, ids: list[int]) -> None:
    for recorder in _recorders:
        recorder(kind, ids)


def register_entry_change_hook(hook) -> None:
    """Let another app (matching) react to committed entry changes once their vectors are current;
    called with (kind, ids)."""
    if hook not in _hooks:
        _hooks.append(hook)


def entry_features_ready(kind: str, ids: list[int]) -> None:
    for hook in _hooks:
        hook(kind, ids)


def entry_changed_on_commit(kind: str, entry_ids: Iterable[int]) -> None:
    ids = sorted(set(entry_ids))
    batch = getattr(_state, "batch", None)
    if batch is not None:
        batch[kind].update(ids)
        return
    _record(kind, ids)
    transaction.on_commit(lambda: _dispatch(kind, ids))


@contextlib.contextmanager
def effects_batched() -> Iterator[None]:
    """Collect entry changes made inside and schedule them once per kind, after commit."""
    if getattr(_state, "batch", None) is not None:
        yield
        return
    _state.batch = defaultdict(set)
    try:
        yield
        collected = {kind: sorted(ids) for kind, ids in _state.batch.items() if ids}
    finally:
        _state.batch = None
    for kind, ids in collected.items():
        _record(kind, ids)
        transaction.on_commit(lambda kind=kind, ids=ids: _dispatch(kind, ids))
