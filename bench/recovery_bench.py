"""Recovery benchmark: kill the worker in the middle of full runs and count how many finish by
themselves, how long that takes, and whether their rows equal those of a clean run.

    bin/bench recovery                          # 10 trials per kind, 1,000 x 1,000, Elasticsearch
    bin/bench recovery --trials 20 --size 2500 --lease 60 --beat 60

The production shape on one machine: PostgreSQL, Redis (a database of its own), Elasticsearch,
a Celery worker (prefork, one process) and a real beat, started here as separate processes. Each
trial starts a full run, waits until it is 20-80 % done (a random point), then kills either the
pool process executing it (``pool``) or the whole worker and its pool, as a container stop or the
OOM killer would (``worker``, restarted at once). It then waits for the run to complete with no
one's help, and compares its candidate rows with a clean run executed right after it. Prints numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 3


def _rows(run_id: int) -> list[tuple]:
    from matching.models import MatchCandidate

    return sorted(
        MatchCandidate.objects.filter(run_id=run_id).values_list("need_id", "offer_id", "rank", "score", "assigned")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10, help="trials per kind of kill")
    parser.add_argument(
        "--kinds",
        nargs="+",
        default=["pool", "worker"],
        choices=["pool", "worker", "none"],
        help="what to kill; none: a control run on the worker without a kill",
    )
    parser.add_argument("--size", type=int, default=1000, help="needs and offers")
    parser.add_argument("--lease", type=int, default=15, help="MATCHING_RUN_LEASE_SECONDS")
    parser.add_argument("--beat", type=int, default=15, help="MATCHING_RECOVER_INTERVAL_SECONDS")
    parser.add_argument("--timeout", type=float, default=180, help="seconds a run may take to recover")
    args = parser.parse_args()

    prefix, _, _db = os.environ["REDIS_URL"].rpartition("/")
    broker = f"{prefix}/{REDIS_DB}"
    index_prefix = f"ta-bench-{uuid.uuid4().hex[:8]}"
    os.environ.update(
        {
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "SEARCH_INDEX_PREFIX": index_prefix,
            "MATCHING_INCREMENTAL": "false",
            "MATCHING_BATCH_SIZE": str(max(10, args.size // 40)),
            "MATCHING_RUN_LEASE_SECONDS": str(args.lease),
            "MATCHING_RECOVER_INTERVAL_SECONDS": str(args.beat),
            "MATCHING_RUN_QUEUED_SECONDS": str(args.beat * 2),
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    django.setup()
    import psutil
    import redis
    from django.conf import settings

    from bench.synthetic import generate, wipe
    from kb.search import get_backend
    from kb.search.sync import search_rebuild
    from matching.models import MatchRun, RunStatus, RunTrigger
    from matching.services.runs import match_run_execute, match_run_start

    redis.Redis.from_url(broker).flushdb()
    wipe()
    MatchRun.objects.all().delete()
    generate(offers=args.size, needs=args.size, seed=args.size)
    from kb.vectors.sync import entry_vectors_reconcile

    entry_vectors_reconcile()  # vectors first: the index carries them
    backend = get_backend()
    backend.ensure_indices()
    for kind in ("offer", "need"):
        search_rebuild(kind=kind, backend=backend)
    redis.Redis.from_url(broker).flushdb()  # the set-up's own after-commit tasks are done already
    if backend.name == "elasticsearch":
        # One segment per index: term statistics without deleted documents and one kNN graph, so
        # that a clean run and a recovered one see the same index (else margins move slightly).
        import urllib.request

        request = urllib.request.Request(
            f"{settings.ELASTICSEARCH_URL}/{index_prefix}-*/_forcemerge?max_num_segments=1", method="POST"
        )
        urllib.request.urlopen(request, timeout=600).read()
    print(
        f"{args.size:,} needs x {args.size:,} offers, backend {backend.name}, lease {args.lease} s, "
        f"beat every {args.beat} s"
    )

    def clean_rows() -> list[tuple]:
        clean = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
        match_run_execute(run_id=clean.pk)
        return _rows(clean.pk)

    started = time.perf_counter()
    reference = clean_rows()
    clean_seconds = time.perf_counter() - started
    print(f"clean run: {clean_seconds:.1f} s, {len(reference):,} candidate rows")

    logs = open(ROOT / "var" / "recovery-bench.log", "w")  # noqa: SIM115
    processes: list[subprocess.Popen] = []

    def start(*command: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *command],
            cwd=ROOT, env=os.environ, stdout=logs, stderr=subprocess.STDOUT,
        )  # fmt: skip
        processes.append(process)
        return process

    def start_worker() -> subprocess.Popen:
        process = start("worker", "--pool=prefork", "--concurrency=1", "-Q", "celery,matching", "-l", "info",
                        "--without-gossip", "--without-mingle", "-n", f"bench-{uuid.uuid4().hex[:6]}@localhost")  # fmt: skip
        deadline = time.monotonic() + 60
        while not psutil.Process(process.pid).children():
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("the worker did not start")
            time.sleep(0.2)
        return process

    beat = start("beat", "-l", "info", "--schedule", str(ROOT / "var" / "recovery-beat"))
    worker = start_worker()
    rng = random.Random(11)
    results: dict[str, list[dict]] = {kind: [] for kind in args.kinds}
    try:
        for trial in range(args.trials):
            for kind in args.kinds:
                at = rng.uniform(0.2, 0.8)
                run = match_run_start(trigger=RunTrigger.API)
                while True:
                    current = MatchRun.objects.get(pk=run.pk)
                    if (
                        current.status == RunStatus.RUNNING
                        and current.needs_total
                        and (current.needs_done >= at * current.needs_total)
                    ):
                        break
                    if current.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                        break
                    time.sleep(0.05)
                killed_at = time.monotonic()
                done_fraction = current.needs_done / max(1, current.needs_total)
                if kind == "none":
                    pass
                elif kind == "pool":
                    for child in psutil.Process(worker.pid).children():
                        child.kill()
                else:
                    for child in psutil.Process(worker.pid).children():
                        child.kill()
                    worker.send_signal(signal.SIGKILL)
                    worker.wait()
                    worker = start_worker()
                outcome = {"at": done_fraction, "completed": False}
                while time.monotonic() - killed_at < args.timeout:
                    current = MatchRun.objects.get(pk=run.pk)
                    if current.status == RunStatus.COMPLETED:
                        seconds = time.monotonic() - killed_at
                        rows = _rows(run.pk)
                        # The reference is a clean run on the index as it is now (beat's reconcile
                        # may have re-indexed entries since, which moves BM25 margins slightly).
                        reference = clean_rows()
                        if rows != reference and os.environ.get("TA_BENCH_DEBUG"):
                            diff = sorted(set(rows) ^ set(reference))
                            needs = sorted({row[0] for row in diff})
                            print(f"    {len(diff)} differing rows in {len(needs)} needs; first need:")
                            print("      clean:    ", [r[1:4] for r in reference if r[0] == needs[0]])
                            print("      recovered:", [r[1:4] for r in rows if r[0] == needs[0]])
                        outcome.update(
                            completed=True,
                            seconds=seconds,
                            attempts=current.attempts,
                            same_rows=rows == reference,
                            duplicates=len(rows) - len({(n, o) for n, o, *_ in rows}),
                        )
                        break
                    time.sleep(0.25)
                results[kind].append(outcome)
                print(
                    f"  trial {trial + 1:2} {kind:<6} killed at {done_fraction:4.0%}: "
                    + (
                        f"completed {outcome['seconds']:5.1f} s after the kill, attempt {outcome['attempts']}, "
                        f"rows {'identical' if outcome['same_rows'] else 'DIFFERENT'} to the clean run"
                        if outcome["completed"]
                        else f"NOT completed within {args.timeout:.0f} s (status {current.status})"
                    ),
                    flush=True,
                )
                if not outcome["completed"]:
                    MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.CANCELLED)
    finally:
        for process in processes:
            if process.poll() is None:
                process.terminate()
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()
        backend.drop_all()
        del beat
    print()
    for kind, outcomes in results.items():
        done = [o for o in outcomes if o["completed"]]
        seconds = [o["seconds"] for o in done]
        print(
            f"{kind:<6}: {len(done)}/{len(outcomes)} completed by themselves"
            + (
                f", after the kill median {statistics.median(seconds):.1f} s, max {max(seconds):.1f} s; "
                f"{sum(o['same_rows'] for o in done)}/{len(done)} with rows identical to a clean run, "
                f"{sum(o['duplicates'] for o in done)} duplicated candidates"
                if done
                else ""
            )
        )
    print(f"(settings: {settings.SEARCH_BACKEND}, lease {args.lease} s, beat {args.beat} s)")


if __name__ == "__main__":
    main()
