"""Side effects of entry changes, scheduled after the transaction commits.

Kept in one place so every write path (API, admin, import, moderation) triggers the same things:
after commit, ``kb.signals.entries_committed`` is sent, whose receivers (``kb/tasks.py``) queue
search indexing and the entries' vectors; once those are current, ``entry_features_ready`` lets
matching re-score. Before that, inside the writing transaction, ``entries_changing`` is sent: its
receivers record durable work (matching's re-scoring requests), kept even if everything after the
commit fails. Inside ``effects_batched()`` the ids are collected and sent once per kind, so a
bulk import queues a handful of tasks, not one per entry.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections import defaultdict
from collections.abc import Iterable, Iterator

from django.db import transaction

from kb.signals import entries_changing, entries_committed

_state = threading.local()


def _dispatch(kind: str, ids: list[int]) -> None:
    entries_committed.send(sender=kind, ids=ids)


def entry_changed_on_commit(kind: str, entry_ids: Iterable[int]) -> None:
    ids = sorted(set(entry_ids))
    batch = getattr(_state, "batch", None)
    if batch is not None:
        batch[kind].update(ids)
        return
    entries_changing.send(sender=kind, ids=ids)
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
        entries_changing.send(sender=kind, ids=ids)
        transaction.on_commit(functools.partial(_dispatch, kind, ids))
