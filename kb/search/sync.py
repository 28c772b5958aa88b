"""Keeping the search index in step with the database.

- ``search_sync_entries`` brings given entries' index state to their database state, raises the
  saved-search alerts of the published ones (``kb.search.alerts``), and then clears their outbox rows (only those it saw before reading the database, so a change committed
  meanwhile keeps its row).
- ``search_outbox_drain`` does that for everything in the outbox (the periodic reconcile, and after
  an outage).
- ``search_repair`` compares every entry's ``row_version`` with the index and fixes differences;
  ``search_rebuild`` builds a fresh index behind the readers' back and swaps it in.
- ``search_index_status`` reports database vs index counts per kind.

Every function here is idempotent: running it twice leaves the same index.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.utils import timezone

from kb.models import EntryKind, SearchOutbox, SearchSyncState
from kb.search import get_backend
from kb.search.alerts import saved_search_alerts_raise
from kb.search.backends.base import SearchBackend, SearchRequestRejected, SearchUnavailable
from kb.search.documents import build_documents, indexable_queryset

KINDS = (EntryKind.OFFER.value, EntryKind.NEED.value)
BATCH_SIZE = 500


def search_sync_entries(*, kind: str, entry_ids: Iterable[int], backend: SearchBackend | None = None) -> int:
    """Index (or remove) these entries as the database has them now. Returns how many."""
    backend = backend or get_backend()
    ids = sorted(set(entry_ids))
    if not ids:
        return 0
    # Read the outbox first: rows written after this point belong to later changes.
    outbox_ids = list(SearchOutbox.objects.filter(entry_kind=kind, entry_id__in=ids).values_list("id", flat=True))
    with backend.write_session(kind):
        documents, deleted = build_documents(kind, ids)
        backend.write(kind, documents, deleted)
    # Before the outbox rows go: if this fails, the retry indexes and checks again (alerts are
    # recorded once per saved search and entry, whatever runs twice).
    saved_search_alerts_raise(kind=kind, entry_ids=[d.entry_id for d in documents], backend=backend)
    if outbox_ids:
        SearchOutbox.objects.filter(id__in=outbox_ids).delete()
    return len(ids)


def search_outbox_drain(*, backend: SearchBackend | None = None, max_batches: int | None = None) -> int:
    """Process the outbox until empty (or ``max_batches``). Returns the entries processed."""
    backend = backend or get_backend()
    processed = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        rows = list(SearchOutbox.objects.order_by("id").values_list("entry_kind", "entry_id")[: BATCH_SIZE * 4])
        if not rows:
            break
        by_kind: dict[str, set[int]] = defaultdict(set)
        for kind, entry_id in rows:
            by_kind[kind].add(entry_id)
        for kind, ids in by_kind.items():
            ordered = sorted(ids)
            for start in range(0, len(ordered), BATCH_SIZE):
                processed += search_sync_entries(
                    kind=kind, entry_ids=ordered[start : start + BATCH_SIZE], backend=backend
                )
        batches += 1
    return processed


@dataclass
class RepairReport:
    indexed: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)


def _database_versions(kind: str) -> dict[int, int]:
    return dict(indexable_queryset(kind).order_by().values_list("id", "row_version"))


def _repair_kind(backend: SearchBackend, kind: str, index: str | None, report: RepairReport) -> None:
    wanted = _database_versions(kind)
    present = backend.versions(kind, index)
    stale = sorted(i for i, v in wanted.items() if present.get(i) != v)
    extra = sorted(set(present) - set(wanted))
    # Extra documents and stale ones are the same job: bring those ids to the database's state.
    todo = sorted(set(stale) | set(extra))
    for start in range(0, len(todo), BATCH_SIZE):
        chunk = todo[start : start + BATCH_SIZE]
        with backend.write_session(kind, index):
            documents, deletions = build_documents(kind, chunk)
            backend.write(kind, documents, deletions, index=index)
    report.indexed[kind] = report.indexed.get(kind, 0) + len(stale)
    report.deleted[kind] = report.deleted.get(kind, 0) + len(extra)


def search_repair(*, backend: SearchBackend | None = None) -> RepairReport:
    """Make the current indices match the database exactly (versions compared one by one)."""
    backend = backend or get_backend()
    backend.ensure_indices()
    report = RepairReport()
    for kind in KINDS:
        _repair_kind(backend, kind, None, report)
    return report


def search_reconcile(*, full: bool = False, backend: SearchBackend | None = None) -> dict:
    """The periodic job: drain the outbox; with ``full``, also compare every version."""
    backend = backend or get_backend()
    started = timezone.now()
    try:
        backend.ensure_indices()
        drained = search_outbox_drain(backend=backend)
        repaired = search_repair(backend=backend) if full else None
    except (SearchUnavailable, SearchRequestRejected) as exc:
        # Recorded either way (the status page and health show it); an outage is retried by the
        # next tick, a refused request fails the task loudly until the bug is fixed.
        for kind in KINDS:
            SearchSyncState.objects.update_or_create(
                entry_kind=kind, defaults={"last_error": str(exc)[:2000], "last_error_at": timezone.now()}
            )
        raise
    for kind in KINDS:
        SearchSyncState.objects.update_or_create(
            entry_kind=kind, defaults={"last_reconciled_at": started, "last_error": ""}
        )
    return {
        "drained": drained,
        "repaired": None if repaired is None else {"indexed": repaired.indexed, "deleted": repaired.deleted},
    }


def _document_batches(kind: str) -> Iterator[list]:
    ids = list(indexable_queryset(kind).order_by("id").values_list("id", flat=True))
    for start in range(0, len(ids), BATCH_SIZE):
        documents, _deletions = build_documents(kind, ids[start : start + BATCH_SIZE])
        yield documents


@dataclass
class RebuildReport:
    kind: str
    new_index: str
    previous_index: str | None
    documents: int
    caught_up: int


def search_rebuild(*, kind: str, backend: SearchBackend | None = None) -> RebuildReport:
    """Build a fresh index for ``kind`` from the database and swap it in without downtime.

    Readers keep using the current index until the swap. Writes made meanwhile go to the current
    index; two catch-up passes (before and after the swap) compare versions with the database, so
    none of them is lost.
    """
    backend = backend or get_backend()
    backend.ensure_indices()
    new_index = backend.create_index(kind)
    documents = 0
    try:
        for batch in _document_batches(kind):
            with backend.write_session(kind, new_index):
                backend.write(kind, batch, index=new_index)
            documents += len(batch)
        report = RepairReport()
        _repair_kind(backend, kind, new_index, report)
        previous = backend.make_current(kind, new_index)
    except BaseException:
        backend.drop_index(kind, new_index)
        raise
    _repair_kind(backend, kind, new_index, report)
    if previous:
        backend.drop_index(kind, previous)
    return RebuildReport(
        kind=kind,
        new_index=new_index,
        previous_index=previous,
        documents=documents,
        caught_up=report.indexed.get(kind, 0) + report.deleted.get(kind, 0),
    )


@dataclass
class IndexStatus:
    kind: str
    database: int
    index: int | None
    outbox_pending: int
    last_reconciled_at: object
    error: str = ""

    @property
    def in_sync(self) -> bool:
        return self.index == self.database and self.outbox_pending == 0


def search_index_status(*, backend: SearchBackend | None = None) -> list[IndexStatus]:
    backend = backend or get_backend()
    result = []
    states = {s.entry_kind: s for s in SearchSyncState.objects.all()}
    for kind in KINDS:
        database = indexable_queryset(kind).order_by().count()
        pending = SearchOutbox.objects.filter(entry_kind=kind).values("entry_id").distinct().count()
        state = states.get(kind)
        try:
            index_count: int | None = backend.count(kind)
            error = ""
        except SearchUnavailable as exc:
            index_count, error = None, str(exc)
        result.append(
            IndexStatus(
                kind=kind,
                database=database,
                index=index_count,
                outbox_pending=pending,
                last_reconciled_at=state.last_reconciled_at if state else None,
                error=error,
            )
        )
    return result
