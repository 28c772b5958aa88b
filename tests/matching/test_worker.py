"""Matching jobs on a real Celery worker with a real Redis broker (not eager mode).

The worker is a separate process on the test database; tests here are transactional so it sees
committed rows. Search is the embedded backend in a folder both processes share.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.db import connection, transaction

from config.celery import app
from kb.content import entry_content
from kb.search.sync import search_outbox_drain
from matching.models import Engagement, MatchCandidate, MatchRun, RunStatus, RunTrigger
from matching.services.runs import match_run_cancel, match_run_start
from matching.tasks import run_matching_task
from tests.matching.conftest import SMALL_KB, SMALL_NEEDS, load
from tests.outages import real_broker

pytestmark = [pytest.mark.worker, pytest.mark.redis, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

ROOT = Path(__file__).resolve().parents[2]


def _broker_url() -> str:
    base = os.environ.get("REDIS_URL")
    assert base, "REDIS_URL is not set: run the tests with bin/test"
    prefix, _, db = base.rpartition("/")
    # A database of its own, flushed per test: the one after the suite's (see bin/services).
    return f"{prefix}/{int(db or 0) + 1}"


LEASE_SECONDS = 3  # short leases so that recovery tests take seconds, not minutes


class Workers:
    """Celery worker processes consuming both queues from Redis, started and killed by tests."""

    def __init__(self, settings, tmp_path, url: str):
        self.settings, self.tmp_path, self.url = settings, tmp_path, url
        self.processes: list[subprocess.Popen] = []
        self.logs = []

    def start(self, pool: str = "solo") -> subprocess.Popen:
        db = connection.settings_dict
        settings = self.settings
        env = {
            **{k: v for k, v in os.environ.items() if k not in ("ELASTICSEARCH_URL",)},
            "DJANGO_SETTINGS_MODULE": "config.settings.test",
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "CELERY_BROKER_URL": self.url,
            "REDIS_URL": self.url,
            "TA_TEST_CELERY_EAGER": "false",
            "SEARCH_INDEX_PREFIX": settings.SEARCH_INDEX_PREFIX,
            "SEARCH_EMBEDDED_PATH": str(settings.SEARCH_EMBEDDED_PATH),
            "MATCHING_BATCH_SIZE": "1",
            "MATCHING_RUN_LEASE_SECONDS": str(LEASE_SECONDS),
            # Re-scoring follows the entries' vectors, which the worker computes: it decides there.
            "MATCHING_INCREMENTAL": str(settings.MATCHING_INCREMENTAL).lower(),
        }
        number = len(self.processes)
        log_path = self.tmp_path / f"worker-{number}.log"
        log = open(log_path, "w")  # noqa: SIM115 - closed at teardown
        self.logs.append(log)
        pool_args = ["--pool=solo"] if pool == "solo" else ["--pool=prefork", "--concurrency=1"]
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", *pool_args, "-Q", "celery,matching",
             "--without-gossip", "--without-mingle", "-l", "info", "-n", f"test-{os.getpid()}-{number}@localhost"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.processes.append(process)
        deadline = time.monotonic() + 60
        while not app.control.ping(timeout=0.5):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, "the worker did not start"
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        for log in self.logs:
            log.close()


@pytest.fixture
def workers(settings, tmp_path):
    url = _broker_url()
    redis.Redis.from_url(url).flushdb()
    settings.SEARCH_BACKEND = "embedded"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.MATCHING_RUN_LEASE_SECONDS = LEASE_SECONDS
    from kb.search import reset_backend

    reset_backend(None)
    pool = Workers(settings, tmp_path, url)
    try:
        with real_broker(url):
            yield pool
    finally:
        pool.stop_all()


@pytest.fixture
def worker(workers):
    """One Celery worker process (solo pool)."""
    return workers.start()


@pytest.fixture
def knowledge_base(settings):
    settings.SEARCH_BACKEND = "embedded"
    load(SMALL_KB + SMALL_NEEDS)
    search_outbox_drain()


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def queue_length(name: str) -> int:
    return redis.Redis.from_url(_broker_url()).llen(name)


def test_a_run_is_enqueued_on_commit_and_executed_by_the_worker(knowledge_base, worker):
    run = match_run_start(trigger=RunTrigger.API)
    seen_progress = set()

    def finished():
        current = MatchRun.objects.get(pk=run.pk)
        seen_progress.add(current.needs_done)
        return current.status == RunStatus.COMPLETED and current

    done = wait_for(finished, what="the run to complete")
    assert done.needs_done == done.needs_total == 4
    assert MatchCandidate.objects.filter(run=run).exists()
    assert Engagement.objects.count() == done.assigned_count
    assert max(seen_progress) == 4


def test_nothing_is_enqueued_when_the_transaction_rolls_back(knowledge_base, worker):
    with pytest.raises(RuntimeError), transaction.atomic():
        match_run_start(trigger=RunTrigger.API)  # durable inside atomic: refused before anything
    assert queue_length("matching") == 0

    class Boom(Exception):
        pass

    def queue_then_fail():
        with transaction.atomic():
            MatchRun.objects.create(scope="full", trigger="api")
            transaction.on_commit(lambda: run_matching_task.delay(0))
            raise Boom

    with pytest.raises(Boom):
        queue_then_fail()
    time.sleep(0.5)
    assert queue_length("matching") == 0
    assert not MatchRun.objects.exists()


def test_a_redelivered_task_does_not_duplicate_anything(knowledge_base, worker):
    run = match_run_start(trigger=RunTrigger.API)
    run_matching_task.delay(run.pk)  # the same message delivered again
    run_matching_task.delay(run.pk)
    wait_for(lambda: MatchRun.objects.get(pk=run.pk).status == RunStatus.COMPLETED, what="the run")
    time.sleep(1.5)  # let the duplicates be consumed too
    wait_for(lambda: queue_length("matching") == 0, what="the queue to drain")
    run.refresh_from_db()
    rows = MatchCandidate.objects.filter(run=run)
    assert rows.count() == run.candidates_count
    assert rows.values("need", "offer").distinct().count() == rows.count()
    assert Engagement.objects.count() == run.assigned_count


def test_cancel_before_the_worker_starts_it(knowledge_base, worker):
    run = match_run_start(trigger=RunTrigger.API, enqueue=False)
    run_matching_task.apply_async(args=[run.pk], countdown=2)
    match_run_cancel(run=run)
    time.sleep(4)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert not MatchCandidate.objects.filter(run=run).exists()


def test_cancel_while_running_stops_between_batches(settings, worker):
    from bench.synthetic import generate

    settings.SEARCH_BACKEND = "embedded"
    generate(offers=200, needs=400, seed=3)
    search_outbox_drain()
    run = match_run_start(trigger=RunTrigger.API)
    wait_for(lambda: MatchRun.objects.get(pk=run.pk).needs_done > 0, what="the run to start scoring")
    match_run_cancel(run=run)
    time.sleep(2)
    run.refresh_from_db()
    assert run.status == RunStatus.CANCELLED
    assert 0 < run.needs_done < run.needs_total
    assert not MatchCandidate.objects.filter(run=run).exists()


@pytest.fixture
def incremental(settings):
    settings.MATCHING_INCREMENTAL = True


def test_entry_changes_queue_incremental_rematching_on_the_worker(knowledge_base, incremental, worker):
    from kb.models import AssistanceNeed, EntryStatus

    need = AssistanceNeed.objects.get(external_id="N-SEN")
    from kb.services.entries import entry_content_write

    with transaction.atomic():
        entry_content_write(entry=need, content=entry_content(need, {"title": "Déclarations de patrimoine en ligne"}))
    wait_for(
        lambda: MatchRun.objects.filter(scope="incremental", status=RunStatus.COMPLETED, need_ids=[need.pk]).exists(),
        what="incremental re-scoring",
    )
    assert MatchCandidate.objects.current().filter(need=need).exists()
    assert need.status == EntryStatus.PUBLISHED


# --- Recovery: the run record drives it, not the broker message --------------------------------


@pytest.fixture
def larger_knowledge_base(settings):
    from bench.synthetic import generate

    settings.SEARCH_BACKEND = "embedded"
    generate(offers=200, needs=400, seed=3)
    search_outbox_drain()


def _rows(run) -> list[tuple]:
    return sorted(
        MatchCandidate.objects.filter(run=run).values_list("need_id", "offer_id", "rank", "score", "assigned")
    )


def _clean_run_rows() -> list[tuple]:
    """The rows a run without incident produces on the same data (executed here, after the test)."""
    from matching.services.runs import match_run_execute

    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    match_run_execute(run_id=run.pk)
    return _rows(run)


def _scoring(run) -> bool:
    current = MatchRun.objects.get(pk=run.pk)
    return current.status == RunStatus.RUNNING and current.needs_done >= current.needs_total * 0.2 > 0


def _completed(run):
    current = MatchRun.objects.get(pk=run.pk)
    return current.status == RunStatus.COMPLETED and current


def test_a_run_whose_pool_process_is_killed_completes_by_itself(larger_knowledge_base, workers):
    import psutil

    parent = psutil.Process(workers.start(pool="prefork").pid)
    run = match_run_start(trigger=RunTrigger.API)
    wait_for(lambda: _scoring(run), what="the run to be a fifth done")
    children = parent.children()
    assert children, "the prefork pool has a child process"
    for child in children:
        child.kill()
    # The broker redelivers at once; the copy finds the dead process's lease alive and comes back
    # when it has expired, then takes the run over.
    done = wait_for(lambda: _completed(run), timeout=120, what="the run to complete after the kill")
    assert done.attempts == 2
    assert _rows(done) == _clean_run_rows()


def test_a_run_whose_whole_worker_is_killed_completes_after_a_restart(larger_knowledge_base, workers):
    from matching.services.runs import runs_recover

    first = workers.start()
    run = match_run_start(trigger=RunTrigger.API)
    wait_for(lambda: _scoring(run), what="the run to be a fifth done")
    first.kill()
    first.wait()
    workers.start()
    # Its message stays unacknowledged until the broker's visibility timeout (hours): the beat's
    # recovery hands the run over as soon as its lease has expired.
    wait_for(lambda: runs_recover()["full"] == 1, timeout=LEASE_SECONDS * 10, what="the lease to expire")
    done = wait_for(lambda: _completed(run), timeout=120, what="the run to complete after the restart")
    assert done.attempts == 2
    assert _rows(done) == _clean_run_rows()


def test_a_run_requested_while_the_broker_is_down_runs_when_it_returns(knowledge_base, workers):
    from matching.services.runs import runs_recover
    from matching.tasks import runs_recover_task

    workers.start()
    with real_broker("redis://127.0.0.1:9/0"):  # nothing listens there: publishing is refused
        run = match_run_start(trigger=RunTrigger.API)
    run.refresh_from_db()
    assert run.status == RunStatus.QUEUED
    assert run.enqueued_at is None
    runs_recover_task.delay()  # what beat sends every minute, on the real worker
    done = wait_for(lambda: _completed(run), what="the run to complete once the broker is back")
    assert done.attempts == 1
    assert runs_recover() == {"full": 0, "incremental": 0}


# --- Fan-out: a full run's batches spread over matching workers --------------------------------


def _batch_writers(run) -> set[str]:
    from matching.models import MatchBatch

    return set(MatchBatch.objects.filter(run=run, status=RunStatus.COMPLETED).values_list("lease_owner", flat=True))


def test_two_workers_share_a_full_run_and_write_the_rows_of_one(larger_knowledge_base, workers):
    workers.start()
    workers.start()
    run = match_run_start(trigger=RunTrigger.API)
    done = wait_for(lambda: _completed(run), timeout=120, what="the run to complete on two workers")
    assert len(_batch_writers(done)) == 2, "both workers scored batches"
    assert done.timings["workers"] == 2
    rows = _rows(done)
    assert len(rows) == len({(need, offer) for need, offer, *_rest in rows}) == done.candidates_count
    assert rows == _clean_run_rows()


def test_a_helper_killed_in_a_batch_leaves_it_to_another_worker(larger_knowledge_base, workers):
    import psutil

    leader, helper = workers.start(), workers.start()
    run = match_run_start(trigger=RunTrigger.API)
    wait_for(lambda: len(_batch_writers(run)) == 2, what="both workers to be scoring")
    current = MatchRun.objects.get(pk=run.pk)
    # The run's lease names its worker's process; the other one is the helper.
    lead_pid = int(current.lease_owner.split(":")[1])
    victim = helper if lead_pid == leader.pid else leader
    assert lead_pid in (leader.pid, helper.pid)
    psutil.Process(victim.pid).kill()
    victim.wait()
    # The run's worker claims the dead helper's batches once their leases expire, and finishes.
    done = wait_for(lambda: _completed(run), timeout=120, what="the run to complete after the helper died")
    assert done.attempts == 1
    from matching.models import MatchBatch

    # The helper always holds a batch (the one whose search runs ahead): it was claimed again.
    assert MatchBatch.objects.filter(run=done, attempts__gte=2).exists()
    rows = _rows(done)
    assert len(rows) == len({(need, offer) for need, offer, *_rest in rows}) == done.candidates_count
    assert rows == _clean_run_rows()
