"""A run's lease: who is executing it, renewed by a heartbeat, taken over once it expires.

A worker claims a run with an atomic UPDATE naming it as the lease's owner (``claim``) and renews
the lease from a thread of its own (``Heartbeat``) while it works; every batch check and the final
write require the lease to still be ours (``still_wanted``). A re-delivered task finding the lease
alive is told so (``RunLeaseHeld``: the task retries later); one finding it expired takes over.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from matching.models import (
    ACTIVE_RUN_STATUSES,
    MatchRun,
    RunStatus,
)

logger = logging.getLogger(__name__)


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.MATCHING_RUN_LEASE_SECONDS)


def recoverable(run: MatchRun) -> bool:
    now = timezone.now()
    if run.status == RunStatus.RUNNING:
        return run.lease_expires_at is None or run.lease_expires_at < now
    waited = timedelta(seconds=settings.MATCHING_RUN_QUEUED_SECONDS)
    return run.status == RunStatus.QUEUED and (run.enqueued_at is None or run.enqueued_at < now - waited)


class RunLeaseHeld(Exception):
    """Another worker holds a live lease on the run: try again once it may have expired."""

    def __init__(self, run_id: int, expires_at: datetime) -> None:
        self.run_id, self.expires_at = run_id, expires_at
        super().__init__(f"matching run {run_id} is leased until {expires_at:%H:%M:%S}")


def new_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def claim(run_id: int) -> str | None:
    """Take the run's lease: returns the owner token, None if the run is no longer active.

    Raises ``RunLeaseHeld`` if another worker's lease is still alive. A run claimed
    MATCHING_RUN_MAX_ATTEMPTS times already (it keeps killing its workers) fails instead.
    """
    now = timezone.now()
    owner = new_owner()
    active = MatchRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES)
    with transaction.atomic():
        run = active.select_for_update().first()
        if run is None:
            return None
        if run.status == RunStatus.RUNNING and run.lease_expires_at and run.lease_expires_at >= now:
            raise RunLeaseHeld(run_id, run.lease_expires_at)
        if run.attempts >= settings.MATCHING_RUN_MAX_ATTEMPTS:
            active.update(
                status=RunStatus.FAILED,
                finished_at=now,
                lease_expires_at=None,
                error=_("The run stopped %(n)s times without finishing (its worker was lost).") % {"n": run.attempts},
            )
            logger.error("matching run %s failed: %s attempts without finishing", run_id, run.attempts)
            return None
        if run.attempts:
            logger.warning(
                "matching run %s taken over (attempt %s): its worker's lease expired", run_id, run.attempts + 1
            )
        active.update(
            status=RunStatus.RUNNING,
            started_at=run.started_at or now,
            lease_expires_at=now + lease_duration(),
            lease_owner=owner,
            attempts=run.attempts + 1,
        )
    return owner


class Heartbeat:
    """Renew the run's lease every third of it from a thread of its own while the run works.

    ``lost`` is set once the lease is no longer ours (taken over, or the run was cancelled); the
    run checks it between batches and before writing. A failed renewal (database busy) is retried
    at the next beat: the lease is three beats long.
    """

    def __init__(self, run_id: int, owner: str):
        self.run_id, self.owner = run_id, owner
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"matching-lease-{run_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def renew(self) -> bool:
        renewed = MatchRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING, lease_owner=self.owner).update(
            lease_expires_at=timezone.now() + lease_duration()
        )
        if not renewed:
            self.lost.set()
        return bool(renewed)

    def _beat(self) -> None:
        interval = max(settings.MATCHING_RUN_LEASE_SECONDS / 3, 0.2)
        try:
            while not self._stop.wait(interval):
                try:
                    if not self.renew():
                        return
                except Exception as exc:  # the next beat tries again
                    logger.warning("matching run %s: lease not renewed: %s", self.run_id, exc)
        finally:
            connection.close()  # this thread's own database connection


def still_wanted(run_id: int, owner: str, done: int) -> bool:
    """Record progress, extend the lease; False if the run was cancelled or taken over meanwhile."""
    return bool(
        MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner).update(
            needs_done=done, lease_expires_at=timezone.now() + lease_duration()
        )
    )
