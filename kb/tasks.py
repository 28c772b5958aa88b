"""Celery entry points of the knowledge base, and what queues them.

Each task takes ids, loads rows and calls a service; each is safe to run twice (indexing
converges on the database state). Services do not import this module: they send the signals of
``kb.signals``, and the receivers at the bottom queue the tasks (``core.tasks.enqueue``: a broker
that is down is logged and the reconciles catch up; a bug is not swallowed).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from celery import shared_task
from django.dispatch import receiver

from core.tasks import enqueue
from kb.search import SearchUnavailable
from kb.search.sync import search_reconcile, search_sync_entries
from kb.search.terms import entry_terms_compute, entry_terms_reconcile
from kb.signals import entries_committed, entry_features_ready, entry_vectors_changed
from kb.vectors.sync import CHUNK, entry_vectors_reconcile, entry_vectors_update

logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(SearchUnavailable,),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
)
def search_index_entries_task(self, kind: str, entry_ids: list[int]) -> int:
    if self.request.is_eager:
        # Embedded mode runs this inside the request that saved the entry: no blocking retries
        # there. The outbox keeps the work and the next search or reconcile finishes it.
        try:
            return search_sync_entries(kind=kind, entry_ids=entry_ids)
        except SearchUnavailable:
            logger.warning("search indexing of %s %s deferred to reconcile", kind, entry_ids[:20])
            return 0
    return search_sync_entries(kind=kind, entry_ids=entry_ids)


@shared_task(acks_late=True, ignore_result=True)
def search_reconcile_task(full: bool = False) -> dict:
    return search_reconcile(full=full)


@shared_task(acks_late=True, ignore_result=True)
def entry_vectors_task(kind: str, entry_ids: list[int]) -> int:
    """What matching reads of these entries, computed once: their analysed terms, then their vectors
    (both idempotent: a re-delivery finds them current), then re-indexing and re-scoring of what
    changed."""
    entry_terms_compute(kind=kind, entry_ids=entry_ids)
    return len(entry_vectors_update(kind=kind, entry_ids=entry_ids).computed)


@shared_task(acks_late=True, ignore_result=True)
def entry_vectors_reconcile_task() -> dict:
    """Missing and stale terms and vectors (a lost task, an encoder outage, a new model, a change
    of analysis or of the concept vocabulary), a bounded number per call."""
    terms = entry_terms_reconcile(limit_per_kind=5000)
    vectors = entry_vectors_reconcile(limit_per_kind=2000)
    return {"terms": terms, "vectors": vectors}


# --- queueing ----------------------------------------------------------------------------------


def enqueue_search_sync(kind: str, entry_ids: Iterable[int]) -> bool:
    """Queue indexing of these entries; False if the broker is down (the outbox keeps the work)."""
    ids = sorted(set(entry_ids))
    return not ids or enqueue(search_index_entries_task, kind, ids)


def enqueue_entry_vectors(kind: str, entry_ids: Iterable[int]) -> bool:
    """Queue ``entry_vectors_task`` in chunks; False if the broker is down (the vectors
    reconcile computes them later)."""
    ids = sorted(set(entry_ids))
    return all(enqueue(entry_vectors_task, kind, ids[start : start + CHUNK]) for start in range(0, len(ids), CHUNK))


@receiver(entries_committed, dispatch_uid="kb.index_and_encode")
def index_and_encode(sender: str, ids: list[int], **kwargs: object) -> None:
    enqueue_search_sync(sender, ids)
    # Other apps react once the vectors are current (the vectors task says so); if it cannot be
    # queued, they react now, without the new vectors.
    if not enqueue_entry_vectors(sender, ids):
        entry_features_ready.send(sender=sender, ids=ids)


@receiver(entry_vectors_changed, dispatch_uid="kb.reindex_vectors")
def reindex_vectors(sender: str, ids: list[int], **kwargs: object) -> None:
    enqueue_search_sync(sender, ids)
