"""Incremental matching: committed entry changes queue re-scoring of the needs they affect.

Registered with ``kb.services.effects`` when the app loads (``MatchingConfig.ready``), so every
write path of the knowledge base (API, admin, import, moderation) triggers it: a re-scoring request
is recorded in the writing transaction (``entries_recorded``), and once the entries' vectors are
current the task is queued (``entries_changed``). The task removes the requests it served; beat
re-sends the others (``matching.services.runs.rescore_requests_drain``).
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def entries_changed(kind: str, ids: list[int]) -> None:
    from django.conf import settings

    from core.broker import publish
    from matching.tasks import rematch_for_offers_task, rematch_needs_task

    if not settings.MATCHING_INCREMENTAL:
        return
    task = rematch_needs_task if kind == "need" else rematch_for_offers_task
    publish(task, list(ids), what=f"re-scoring for {len(ids)} {kind}s")


def entries_recorded(kind: str, ids: list[int]) -> None:
    from django.conf import settings
    from django.utils import timezone

    from matching.models import RescoreRequest

    if not settings.MATCHING_INCREMENTAL or not ids:
        return
    now = timezone.now()
    RescoreRequest.objects.bulk_create(
        [RescoreRequest(entry_kind=kind, entry_id=pk, requested_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["entry_kind", "entry_id"],
        update_fields=["requested_at", "attempted_at"],
        batch_size=2000,
    )
