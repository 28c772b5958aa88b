"""Incremental matching: committed entry changes queue re-scoring of the needs they affect.

Registered with ``kb.services.effects`` when the app loads (``MatchingConfig.ready``), so every
write path of the knowledge base (API, admin, import, moderation) triggers it after commit.
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
