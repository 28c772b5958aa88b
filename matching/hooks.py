"""Incremental matching: committed entry changes queue re-scoring of the needs they affect.

Registered with ``kb.services.effects`` when the app loads (``MatchingConfig.ready``), so every
write path of the knowledge base (API, admin, import, moderation) triggers it after commit.
"""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def entries_changed(kind: str, ids: list[int]) -> None:
    from django.conf import settings

    from matching.tasks import rematch_for_offers_task, rematch_needs_task

    if not settings.MATCHING_INCREMENTAL:
        return
    task = rematch_needs_task if kind == "need" else rematch_for_offers_task
    try:
        task.delay(list(ids))
    except Exception:  # broker down or an eager run failing: the nightly full run catches up
        logger.warning("could not queue re-matching of %s %s", kind, list(ids)[:20], exc_info=True)
