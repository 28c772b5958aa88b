"""Starting, cancelling and recovering matching runs; the re-scoring outbox.

- One full run at a time (a partial unique index); a second request gets ``MatchRunAlreadyActive``.
- Recovery is driven by the run record, not by the broker message: ``runs_recover`` (beat, every
  minute) hands back to the broker any full run whose lease expired or that was never picked up,
  and retries incremental re-scoring whose worker died.
- Re-scoring requested after an entry change is recorded (``RescoreRequest``) and re-sent by
  ``rescore_requests_drain`` until a run has done it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import DomainError
from core.tasks import enqueue
from matching.models import (
    ACTIVE_RUN_STATUSES,
    MatchBatch,
    MatchCandidate,
    MatchRun,
    RunScope,
    RunStatus,
)
from matching.services.runs.lease import recoverable

logger = logging.getLogger(__name__)


class MatchRunAlreadyActive(DomainError):
    code = "run_already_active"

    def __init__(self, run: MatchRun | None):
        self.run = run
        super().__init__(
            _("A full matching run is already queued or running (run #%(id)s).") % {"id": run.pk if run else "?"}
        )


class MatchRunNotActive(DomainError):
    code = "run_not_active"


def match_run_start(*, trigger: str, requested_by: User | None = None, enqueue: bool = True) -> MatchRun:
    """Queue a full run; a worker starts it after commit (``enqueue=False``: the caller runs it)."""

    try:
        with transaction.atomic(durable=True):
            run = MatchRun.objects.create(scope=RunScope.FULL, trigger=trigger, requested_by=requested_by)
            if enqueue:
                transaction.on_commit(lambda: _hand_to_broker(run.pk))
    except IntegrityError as exc:
        active = MatchRun.objects.filter(scope=RunScope.FULL, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None and active.status == RunStatus.RUNNING and recoverable(active):
            _hand_to_broker(active.pk)  # its worker died: it resumes rather than blocking every run
        raise MatchRunAlreadyActive(active) from exc
    return run


#: The tasks this module starts, by registered name (matching.tasks imports this module).
RUN_TASK = "matching.tasks.run_matching_task"
RESCORE_NEEDS_TASK = "matching.tasks.rematch_needs_task"
RESCORE_OFFERS_TASK = "matching.tasks.rematch_for_offers_task"


def _enqueue(task: str, *args: int | list[int]) -> bool:
    """False if the broker is down: runs_recover hands the work over again once it is back."""
    return enqueue(task, *args)


def _hand_to_broker(run_id: int) -> bool:
    """Queue the run's task and note when (a run never handed over is recovered at the next tick)."""
    MatchRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    if _enqueue(RUN_TASK, run_id):
        return True
    MatchRun.objects.filter(pk=run_id).update(enqueued_at=None)
    return False


def match_run_cancel(*, run: MatchRun) -> MatchRun:
    with transaction.atomic(durable=True):
        updated = MatchRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        if not updated:
            raise MatchRunNotActive(_("Only a queued or running run can be cancelled."))
        # The batches written so far were never visible (no outcome of the run is current): they go.
        MatchCandidate.objects.filter(run_id=run.pk).delete()
        MatchBatch.objects.filter(run_id=run.pk).delete()
    run.refresh_from_db()
    return run


def runs_recover() -> dict[str, int]:
    """Hand back what a dead worker or a broker outage left behind (beat calls this every minute).

    - a full run queued but never picked up (the broker was down when it was requested, or its
      message was lost), or running with an expired lease (its worker died): its task is queued
      again and the next worker takes the run over;
    - incremental re-scoring whose worker died: the run is marked failed and the same needs are
      queued for re-scoring again, unless a later run already re-scored them.
    """
    counts = {"full": 0, "incremental": 0}
    for run in MatchRun.objects.filter(scope=RunScope.FULL, status__in=ACTIVE_RUN_STATUSES):
        if recoverable(run) and _hand_to_broker(run.pk):
            logger.warning("matching run %s (%s) handed to the broker again", run.pk, run.status)
            counts["full"] += 1
    lost = MatchRun.objects.filter(
        scope=RunScope.INCREMENTAL, status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
    )
    for run in lost:
        marked = MatchRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
        ).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=_("The worker was lost; the needs were queued for re-scoring again."),
        )
        redone = MatchRun.objects.filter(
            scope=RunScope.INCREMENTAL, need_ids=run.need_ids, created_at__gt=run.created_at
        ).exclude(status=RunStatus.FAILED)
        if marked and not redone.exists() and _enqueue(RESCORE_NEEDS_TASK, run.need_ids):
            counts["incremental"] += 1
    return counts


def rescore_requests_done(kind: str, ids: list[int], *, before: datetime) -> int:
    """The re-scoring of these entries, requested before ``before``, is done."""
    from matching.models import RescoreRequest

    done, _by_model = RescoreRequest.objects.filter(
        entry_kind=kind, entry_id__in=list(ids), requested_at__lte=before
    ).delete()
    return done


def rescore_requests_drain() -> dict[str, int]:
    """Re-send re-scoring the chain after the commit did not finish (beat, every minute).

    A request waits ``MATCHING_RESCORE_GRACE_SECONDS`` (the vectors and the task's own turn come
    first) and is re-sent at most every ``MATCHING_RESCORE_RETRY_SECONDS``; one older than
    ``MATCHING_RESCORE_BUDGET_HOURS`` is dropped (the nightly full run has covered it since).
    """
    from matching.models import RescoreRequest

    now = timezone.now()
    expired, _by_model = RescoreRequest.objects.filter(
        requested_at__lt=now - timedelta(hours=settings.MATCHING_RESCORE_BUDGET_HOURS)
    ).delete()
    if expired:
        logger.warning("%s re-scoring requests older than %s h dropped (full runs cover them)",
                       expired, settings.MATCHING_RESCORE_BUDGET_HOURS)  # fmt: skip
    due = (
        RescoreRequest.objects.filter(requested_at__lt=now - timedelta(seconds=settings.MATCHING_RESCORE_GRACE_SECONDS))
        .exclude(attempted_at__gte=now - timedelta(seconds=settings.MATCHING_RESCORE_RETRY_SECONDS))
        .order_by("requested_at")
    )
    counts = {"need": 0, "offer": 0, "expired": expired}
    for kind, task in (("need", RESCORE_NEEDS_TASK), ("offer", RESCORE_OFFERS_TASK)):
        ids = list(due.filter(entry_kind=kind).values_list("entry_id", flat=True)[:2000])
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            RescoreRequest.objects.filter(entry_kind=kind, entry_id__in=chunk).update(attempted_at=timezone.now())
            if not _enqueue(task, chunk):
                RescoreRequest.objects.filter(entry_kind=kind, entry_id__in=chunk).update(attempted_at=None)
                return counts  # the broker is down: the next tick tries again
            counts[kind] += len(chunk)
    return counts
