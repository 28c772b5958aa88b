"""Celery entry points of the knowledge base. Each takes ids, loads rows and calls a service;
each is safe to run twice (indexing converges on the database state)."""

from __future__ import annotations

import logging

from celery import shared_task

from kb.search import SearchUnavailable
from kb.search.sync import search_reconcile, search_sync_entries
from kb.vectors.sync import entry_vectors_reconcile, entry_vectors_update

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
    """Vectors of these entries (idempotent: a re-delivery finds them current), then re-indexing
    and re-scoring of what changed."""
    return len(entry_vectors_update(kind=kind, entry_ids=entry_ids).computed)


@shared_task(acks_late=True, ignore_result=True)
def entry_vectors_reconcile_task() -> dict:
    """Missing and stale vectors (an outage of the encoder, a new model), a bounded number per call."""
    return entry_vectors_reconcile(limit_per_kind=2000)
