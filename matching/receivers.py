"""Incremental matching: entry changes queue re-scoring of the needs they affect.

Connected when the app loads (``MatchingConfig.ready``), so every write path of the knowledge base
(API, admin, import, moderation) triggers it: ``record_rescore_requests`` on
``kb.signals.entries_changing`` records a request in the writing transaction (the outbox of
incremental matching), and ``rescore_changed_entries`` on ``entry_features_ready`` queues the task
once the entries' vectors are current. ``notify_entry_moderated`` on ``kb.signals.entry_moderated``
writes the moderation notifications (in the transition's transaction; e-mailed through the same
outbox as the engagements'); ``notify_saved_search_matches`` on ``kb.signals.saved_searches_matched``
tells the owners of saved searches of the new entries they match. The task removes the requests it served; beat re-sends the
others (``matching.services.runs.rescore_requests_drain``).
"""

from __future__ import annotations

from django.conf import settings

from core.tasks import enqueue
from matching.tasks import rematch_for_offers_task, rematch_needs_task


def rescore_changed_entries(sender: str, ids: list[int], **kwargs: object) -> None:
    if not settings.MATCHING_INCREMENTAL:
        return
    # A broker that is down is logged; the re-scoring requests are re-sent by beat.
    enqueue(rematch_needs_task if sender == "need" else rematch_for_offers_task, list(ids))


def record_rescore_requests(sender: str, ids: list[int], **kwargs: object) -> None:
    from django.utils import timezone

    from matching.models import RescoreRequest

    if not settings.MATCHING_INCREMENTAL or not ids:
        return
    now = timezone.now()
    RescoreRequest.objects.bulk_create(
        [RescoreRequest(entry_kind=sender, entry_id=pk, requested_at=now) for pk in ids],
        update_conflicts=True,
        unique_fields=["entry_kind", "entry_id"],
        update_fields=["requested_at", "attempted_at"],
        batch_size=2000,
    )


def notify_entry_moderated(sender: str, entry, action: str, actor, reason: str, **kwargs: object) -> None:
    from matching.services.notifications import notify_entry_moderated as notify

    notify(kind=sender, entry=entry, action=action, actor=actor, reason=reason)


def notify_saved_search_matches(sender: str, alerts, **kwargs: object) -> None:
    from matching.services.notifications import notify_saved_search_matches as notify

    notify(kind=sender, alerts=alerts)
