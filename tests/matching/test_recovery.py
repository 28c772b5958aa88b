"""Run recovery driven by the run record (lease, heartbeat, takeover, beat) — in one process.

The same on a real worker with real kills and a real broker outage: tests/matching/test_worker.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from matching.models import MatchCandidate, MatchRun, RunScope, RunStatus, RunTrigger
from matching.services.runs import (
    MatchRunAlreadyActive,
    RunLeaseHeld,
    lease,
    match_run_execute,
    match_run_start,
    runs_recover,
)

pytestmark = pytest.mark.django_db

LONG_AGO = timezone.now() - timedelta(days=1)


def _rows(run):
    return sorted(MatchCandidate.objects.filter(run=run).values_list("need_id", "offer_id", "rank", "score"))


def test_a_live_lease_is_not_taken_over_and_the_caller_is_told_when_to_come_back(search_backend, small_kb):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    owner = lease.claim(run.pk)
    assert owner
    with pytest.raises(RunLeaseHeld) as held:
        match_run_execute(run_id=run.pk, backend=search_backend)
    run.refresh_from_db()
    assert held.value.expires_at == run.lease_expires_at > timezone.now()
    assert run.lease_owner == owner
    assert run.attempts == 1
    assert not MatchCandidate.objects.filter(run=run).exists()


def test_an_expired_lease_is_taken_over_and_the_old_worker_writes_nothing(search_backend, small_kb):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    stale_owner = lease.claim(run.pk)
    MatchRun.objects.filter(pk=run.pk).update(lease_expires_at=LONG_AGO)  # its worker died
    done = match_run_execute(run_id=run.pk, backend=search_backend)
    assert done.status == RunStatus.COMPLETED
    assert done.attempts == 2
    assert done.lease_owner == ""
    assert done.lease_expires_at is None
    rows = _rows(done)
    # The first worker was only paused: it wakes up, finds the lease gone and stops.
    assert not lease.still_wanted(run.pk, stale_owner, 1)
    assert _rows(done) == rows


def test_the_heartbeat_renews_the_lease_and_notices_when_it_is_lost(small_kb, settings):
    settings.MATCHING_RUN_LEASE_SECONDS = 30
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    owner = lease.claim(run.pk)
    MatchRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() + timedelta(seconds=1))
    beat = lease.Heartbeat(run.pk, owner)
    assert beat.renew()
    assert MatchRun.objects.get(pk=run.pk).lease_expires_at > timezone.now() + timedelta(seconds=25)
    MatchRun.objects.filter(pk=run.pk).update(lease_owner="another-worker")
    assert not beat.renew()
    assert beat.lost.is_set()


def test_a_run_that_keeps_killing_its_worker_fails_instead_of_looping(search_backend, small_kb):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    MatchRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, attempts=settings.MATCHING_RUN_MAX_ATTEMPTS, lease_expires_at=LONG_AGO
    )
    assert match_run_execute(run_id=run.pk, backend=search_backend) is None
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "without finishing" in run.error
    match_run_start(trigger=RunTrigger.API, enqueue=False)  # no longer blocks the next run


def test_recovery_hands_back_lost_and_dead_runs_only(small_kb, settings):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)  # never handed to the broker
    assert lease.recoverable(run)
    MatchRun.objects.filter(pk=run.pk).update(enqueued_at=timezone.now())
    run.refresh_from_db()
    assert not lease.recoverable(run), "handed over a moment ago: it is waiting for a worker"
    MatchRun.objects.filter(pk=run.pk).update(
        enqueued_at=timezone.now() - timedelta(seconds=settings.MATCHING_RUN_QUEUED_SECONDS + 1)
    )
    run.refresh_from_db()
    assert lease.recoverable(run)
    MatchRun.objects.filter(pk=run.pk).update(
        status=RunStatus.RUNNING, lease_expires_at=timezone.now() + timedelta(minutes=1)
    )
    run.refresh_from_db()
    assert not lease.recoverable(run), "a live lease: its worker is at work"
    MatchRun.objects.filter(pk=run.pk).update(lease_expires_at=LONG_AGO)
    run.refresh_from_db()
    assert lease.recoverable(run)


def test_recovery_completes_a_dead_run_with_the_rows_of_a_clean_one(small_kb):
    clean = match_run_start(trigger=RunTrigger.API, enqueue=False)
    match_run_execute(run_id=clean.pk)
    expected = [row[1:] for row in _rows(clean)]
    dead = match_run_start(trigger=RunTrigger.API, enqueue=False)
    lease.claim(dead.pk)
    MatchRun.objects.filter(pk=dead.pk).update(lease_expires_at=LONG_AGO, needs_done=2)
    assert runs_recover() == {"full": 1, "incremental": 0}  # tasks run eagerly in tests: done here
    dead.refresh_from_db()
    assert dead.status == RunStatus.COMPLETED
    assert dead.attempts == 2
    assert [row[1:] for row in _rows(dead)] == expected


def test_asking_for_a_run_while_a_dead_one_blocks_resumes_the_dead_one(small_kb):
    dead = match_run_start(trigger=RunTrigger.API, enqueue=False)
    lease.claim(dead.pk)
    MatchRun.objects.filter(pk=dead.pk).update(lease_expires_at=LONG_AGO)
    with pytest.raises(MatchRunAlreadyActive):
        match_run_start(trigger=RunTrigger.API)
    dead.refresh_from_db()
    assert dead.status == RunStatus.COMPLETED
    match_run_start(trigger=RunTrigger.API, enqueue=False)  # and the next request is accepted


def test_incremental_rescoring_whose_worker_died_is_retried_once(small_kb):
    offers, needs = small_kb
    need_ids = sorted([needs["N-CIV"].pk])
    lost = MatchRun.objects.create(
        scope=RunScope.INCREMENTAL,
        trigger=RunTrigger.ENTRY_CHANGE,
        status=RunStatus.RUNNING,
        need_ids=need_ids,
        lease_expires_at=LONG_AGO,
    )
    assert runs_recover() == {"full": 0, "incremental": 1}
    lost.refresh_from_db()
    assert lost.status == RunStatus.FAILED
    again = MatchRun.objects.filter(scope=RunScope.INCREMENTAL, need_ids=need_ids).exclude(pk=lost.pk)
    assert [r.status for r in again] == [RunStatus.COMPLETED]
    assert runs_recover() == {"full": 0, "incremental": 0}


def test_the_embedded_start_finishes_an_interrupted_run_first(small_kb):
    dead = match_run_start(trigger=RunTrigger.API, enqueue=False)
    lease.claim(dead.pk)  # its lease is still alive: the process was stopped a moment ago
    call_command("runs_recover", "--no-worker")
    dead.refresh_from_db()
    assert dead.status == RunStatus.COMPLETED
    call_command("run_matching", "--sync")


def test_beat_runs_recovery_every_minute():
    entry = settings.CELERY_BEAT_SCHEDULE["matching-runs-recover"]
    assert entry["task"] == "matching.tasks.runs_recover_task"
    assert entry["schedule"] == settings.MATCHING_RECOVER_INTERVAL_SECONDS == 60
