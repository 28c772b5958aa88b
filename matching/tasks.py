"""Celery entry points of matching. Each takes ids, loads rows and calls a service, and is safe
to run twice (a run is claimed with a lease; candidates are upserted; re-scoring converges)."""

from __future__ import annotations

import logging
from typing import TypedDict

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from kb.search import SearchUnavailable
from matching.models import RunTrigger
from matching.services.notifications import (
    notification_digests_send,
    notification_emails_drain,
    notification_emails_send,
)
from matching.services.runs import (
    MatchRunAlreadyActive,
    RunLeaseHeld,
    match_batches_help,
    match_rescore_needs,
    match_run_execute,
    match_run_start,
    needs_affected_by_offers,
    rescore_requests_done,
    rescore_requests_drain,
    runs_recover,
)

logger = logging.getLogger(__name__)


class _RetryOptions(TypedDict):
    """Celery's retry options, typed so that ``shared_task(**_RETRY)`` is checked."""

    autoretry_for: tuple[type[BaseException], ...]
    retry_backoff: int
    retry_backoff_max: int
    retry_jitter: bool
    max_retries: int


class _TimeLimits(TypedDict):
    soft_time_limit: int
    time_limit: int


_RETRY: _RetryOptions = {
    "autoretry_for": (SearchUnavailable,),
    "retry_backoff": 5,
    "retry_backoff_max": 600,
    "retry_jitter": True,
    "max_retries": 6,
}


#: A full run's limits; the lease renewed by its heartbeat is far shorter (matching/checks.py).
_RUN_LIMITS: _TimeLimits = {
    "soft_time_limit": settings.MATCHING_RUN_SOFT_TIME_LIMIT,
    "time_limit": settings.MATCHING_RUN_TIME_LIMIT,
}
_RESCORE_LIMITS: _TimeLimits = {
    "soft_time_limit": settings.MATCHING_RESCORE_SOFT_TIME_LIMIT,
    "time_limit": settings.MATCHING_RESCORE_TIME_LIMIT,
}


@shared_task(bind=True, acks_late=True, ignore_result=True, queue="matching", **_RETRY, **_RUN_LIMITS)
def run_matching_task(self, run_id: int) -> None:
    """Execute a full run. A copy of the message finding another worker's live lease (the broker
    redelivered it after a pool process died) comes back once that lease may have expired,
    instead of being acknowledged and lost."""

    try:
        match_run_execute(run_id=run_id)
    except RunLeaseHeld as held:
        if self.request.is_eager:
            return
        wait = max(1.0, (held.expires_at - timezone.now()).total_seconds() + 1)
        logger.info("%s; retrying in %.0f s", held, wait)
        raise self.retry(countdown=wait) from None


@shared_task(acks_late=True, ignore_result=True, queue="matching", **_RETRY, **_RUN_LIMITS)
def run_batches_task(run_id: int) -> int:
    """Help a full run another worker leads: score its batches until none is left. Safe to run
    twice or late (it finds nothing to claim); a batch left by a killed helper is claimed again
    once its lease expires."""

    return match_batches_help(run_id=run_id)


@shared_task(acks_late=True, ignore_result=True, queue="matching")
def runs_recover_task() -> dict:

    return runs_recover()


@shared_task(acks_late=True, ignore_result=True, queue="matching")
def nightly_full_run_task() -> None:

    runs_recover()
    try:
        match_run_start(trigger=RunTrigger.NIGHTLY)
    except MatchRunAlreadyActive:
        logger.info("nightly matching run skipped: a full run is already active")


@shared_task(acks_late=True, ignore_result=True, queue="matching", **_RETRY, **_RESCORE_LIMITS)
def rematch_needs_task(need_ids: list[int]) -> None:

    started = timezone.now()
    match_rescore_needs(need_ids=need_ids)
    rescore_requests_done("need", need_ids, before=started)


@shared_task(acks_late=True, ignore_result=True, queue="matching", **_RETRY, **_RESCORE_LIMITS)
def rematch_for_offers_task(offer_ids: list[int]) -> None:

    started = timezone.now()
    match_rescore_needs(need_ids=needs_affected_by_offers(offer_ids=offer_ids))
    rescore_requests_done("offer", offer_ids, before=started)


@shared_task(acks_late=True, ignore_result=True, queue="matching")
def rescore_requests_drain_task() -> dict:

    return rescore_requests_drain()


@shared_task(acks_late=True, ignore_result=True)
def send_notification_emails_task(notification_ids: list[int]) -> int:

    return notification_emails_send(notification_ids)


@shared_task(acks_late=True, ignore_result=True)
def notification_emails_drain_task() -> dict:

    return notification_emails_drain()


@shared_task(acks_late=True, ignore_result=True)
def notification_digests_task() -> dict:

    return notification_digests_send()
