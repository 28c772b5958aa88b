"""Matching benchmark: full runs, incremental re-scoring, plan solving and memory, on both search
backends, against a plain sparse-matrix baseline that computes the same scores for every pair.

    bin/bench matching                       # 1k x 1k and 10k x 10k needs x offers
    bin/bench matching --sizes 1000          # a quick run

Prints numbers; it is not a test. The full run executes in a separate process (``manage.py
run_matching --sync``, what a worker does) whose peak resident memory is sampled. Incremental
latency re-scores one need at a time (``match_rescore_needs``), as an entry change does. The
baseline loads the same features, computes the same score formula for *all* need x offer pairs
with numpy/scipy (no search engine, no database writes), keeps the same top candidates and solves
the same plan, so the real path's overhead reads as a ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent


def _peak_rss_of(command: list[str], env: dict) -> tuple[float, int, str]:
    import psutil

    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    watched = psutil.Process(process.pid)
    peak = 0
    while process.poll() is None:
        try:
            peak = max(peak, watched.memory_info().rss)
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    output = process.stdout.read()
    if process.returncode != 0:
        raise RuntimeError(output)
    return time.perf_counter() - started, peak, output


def _limit_seconds(size: int) -> float | None:
    """The 'physical limit' anchor's total, run right here (same machine, same minute)."""
    script = ROOT.parent / "shared" / "bench" / "limit.py"
    if not script.exists():
        return None
    output = subprocess.run(
        [sys.executable, str(script), str(size), str(size)], capture_output=True, text=True, check=True
    ).stdout
    line = next(line for line in output.splitlines() if line.startswith("limit total"))
    return float(line.split()[2])


class _Workers:
    """Celery worker processes on the "matching" queue (solo pool, as production's matching
    worker runs one task at a time), with their peak resident memory sampled."""

    def __init__(self, count: int, env: dict):
        self.processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "config",
                    "worker",
                    "--pool=solo",
                    "-Q",
                    "matching",
                    "--without-gossip",
                    "--without-mingle",
                    "-l",
                    "warning",
                    "-n",
                    f"bench-{os.getpid()}-{n}@localhost",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )  # fmt: skip
            for n in range(count)
        ]
        self.peaks = [0] * count

    def ready(self) -> None:
        from config.celery import app

        deadline = time.monotonic() + 120
        while len(app.control.ping(timeout=1.0) or []) < len(self.processes):
            if time.monotonic() > deadline:
                raise RuntimeError("the bench's workers did not start")

    def sample(self) -> None:
        import psutil

        for n, process in enumerate(self.processes):
            with contextlib.suppress(psutil.NoSuchProcess):
                self.peaks[n] = max(self.peaks[n], psutil.Process(process.pid).memory_info().rss)

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _run_on_workers(count: int, env: dict) -> tuple[float, list[int], object]:
    """A full run requested as the API does, executed by ``count`` Celery workers; wall time from
    the request to the completed run, each worker's peak memory, and the run."""
    import redis

    from matching.models import MatchRun, RunStatus, RunTrigger
    from matching.services.runs import match_run_start

    redis.Redis.from_url(env["CELERY_BROKER_URL"]).flushdb()
    workers = _Workers(count, env)
    try:
        workers.ready()
        started = time.perf_counter()
        run = match_run_start(trigger=RunTrigger.COMMAND)
        while True:
            workers.sample()
            run = MatchRun.objects.get(pk=run.pk)
            if run.status not in (RunStatus.QUEUED, RunStatus.RUNNING):
                break
            time.sleep(0.05)
        wall = time.perf_counter() - started
        if run.status != RunStatus.COMPLETED:
            raise RuntimeError(f"run {run.pk} {run.status}: {run.error}")
        return wall, workers.peaks, run
    finally:
        workers.stop()


def _search_node_cpu() -> float | None:
    """CPU seconds the local Elasticsearch node has used so far (None if it is not on this machine)."""
    import psutil

    for process in psutil.process_iter(["cmdline"]):
        if any("org.elasticsearch" in part for part in process.info["cmdline"] or []):
            times = process.cpu_times()
            return times.user + times.system
    return None


def _bench_broker() -> str:
    """A Redis database of the bench's own (the one after the app's), flushed before each run."""
    base = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix, _, db = base.rpartition("/")
    return f"{prefix}/{int(db or 0) + 1}"


def _compare_rows(first, second) -> str:
    """How two runs' stored candidates compare: "same", or how many needs differ and how.

    Two consecutive runs see the proposals the earlier one opened (kept as commitments), and the
    bench's one-need re-scorings in between change a few, so assignments may move between runs
    while every rank and score stays the same."""
    from matching.models import MatchCandidate

    def rows(run) -> dict[int, list[tuple]]:
        by_need: dict[int, list[tuple]] = {}
        for need_id, *row in MatchCandidate.objects.filter(run=run).values_list(
            "need_id", "offer_id", "rank", "score", "assigned"
        ):
            by_need.setdefault(need_id, []).append(tuple(row))
        return by_need

    a, b = rows(first), rows(second)
    differ = [n for n in a.keys() | b.keys() if sorted(a.get(n, [])) != sorted(b.get(n, []))]
    if not differ:
        return "same rows"

    from matching.engine import match_config

    stored = match_config().stored_per_need

    def scored(rows: list[tuple]) -> list[tuple]:
        return sorted(row[:3] for row in rows if row[1] <= stored)  # the stored ranks, assignment aside

    ranking = [n for n in differ if scored(a.get(n, [])) != scored(b.get(n, []))]
    return f"{len(differ)} of {len(a.keys() | b.keys()):,} needs differ ({len(ranking)} in stored ranks or scores)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--backends", nargs="+", default=["embedded", "elasticsearch"])
    parser.add_argument("--incremental", type=int, default=60, help="needs re-scored one by one")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="*",
        default=[1, 2],
        help="also run on this many Celery matching workers (Elasticsearch only; none: skip)",
    )
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    os.environ["MATCHING_INCREMENTAL"] = "false"  # the bench drives matching itself
    os.environ["CELERY_BROKER_URL"] = _bench_broker()  # the bench's workers, if any, listen there
    django.setup()
    from django.conf import settings

    from bench.baseline import baseline_run
    from bench.synthetic import generate, wipe
    from kb.models import AssistanceNeed, EntryStatus
    from kb.search import build_backend, reset_backend
    from kb.search.sync import search_rebuild
    from matching.models import MatchRun
    from matching.services.runs import match_rescore_needs

    print(f"database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}; cores: {os.cpu_count()}")
    for size in args.sizes:
        wipe()
        MatchRun.objects.all().delete()
        generate(offers=size, needs=size, seed=size)
        print(f"\n== {size:,} needs x {size:,} offers ==")
        limit = _limit_seconds(size)
        print(
            f"  limit script (../shared/bench/limit.py {size} {size}): {limit:.2f} s"
            if limit
            else "  limit script: n/a"
        )
        # Vectors are computed once, after the entries are written (as the after-commit task does),
        # never inside a run: this is the encoding throughput.
        from kb.models import EntryVector
        from kb.vectors.encoders import get_encoder
        from kb.vectors.sync import entry_vectors_reconcile

        started = time.perf_counter()
        counts = entry_vectors_reconcile()
        seconds = time.perf_counter() - started
        entries = sum(counts.values())
        texts = entries + sum(len(v) for v in EntryVector.objects.values_list("sentences", flat=True))
        if entries:
            print(
                f"  encoding ({get_encoder().version}): {entries:,} entries, {texts:,} texts in {seconds:.1f} s: "
                f"{entries / seconds:,.0f} entries/s, {texts / seconds:,.0f} texts/s"
            )
        # The analysed terms are stored by the same after-commit task (kb.search.terms): a run
        # reads them and analyses only what is missing or stale.
        from kb.search.terms import entry_terms_reconcile

        started = time.perf_counter()
        analysed = sum(entry_terms_reconcile().values())
        seconds = time.perf_counter() - started
        if analysed:
            print(
                f"  stored terms: {analysed:,} entries analysed in {seconds:.1f} s: {analysed / seconds:,.0f} entries/s"
            )
        base = baseline_run()
        print(
            f"  baseline (numpy/scipy, all pairs): {base['total']:.1f} s "
            f"(features {base['features']:.1f} s, scores {base['scores']:.1f} s, plan {base['plan']:.2f} s; "
            f"{base['pairs']:,} pairs scored, {base['assigned']:,} assigned)"
        )
        for name in args.backends:
            if name == "elasticsearch" and not settings.ELASTICSEARCH_URL:
                print(f"  {name}: skipped (ELASTICSEARCH_URL not set)")
                continue
            prefix = f"ta-bench-{uuid.uuid4().hex[:8]}"
            backend = build_backend(name, prefix=prefix)
            backend.ensure_indices()
            reset_backend(backend)
            try:
                for kind in ("offer", "need"):
                    search_rebuild(kind=kind, backend=backend)
                env = {
                    **os.environ,
                    "SEARCH_INDEX_PREFIX": prefix,
                    "MATCHING_INCREMENTAL": "false",
                    "MATCHING_RUN_HELPERS": "0",  # in-process: the run's own process scores every batch
                    "ELASTICSEARCH_URL": settings.ELASTICSEARCH_URL if name == "elasticsearch" else "",
                }
                wall, peak, _output = _peak_rss_of([sys.executable, "manage.py", "run_matching", "--sync"], env)
                run = MatchRun.objects.filter(scope="full").order_by("-id").first()
                timings = run.timings
                needs = list(AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).values_list("id", flat=True))
                rng = random.Random(5)
                latencies = []
                for need_id in rng.sample(needs, min(args.incremental + 5, len(needs))):
                    t0 = time.perf_counter()
                    match_rescore_needs(need_ids=[need_id], backend=backend)
                    latencies.append((time.perf_counter() - t0) * 1000)
                latencies = sorted(latencies[5:])  # warm-up excluded
                p95 = latencies[max(0, int(len(latencies) * 0.95) - 1)]
                print(
                    f"  {name:<13} full run {wall:6.1f} s wall (in-run: offers {timings.get('offers', 0):.1f} s, needs "
                    f"{timings.get('needs', 0):.1f} s, candidates {timings.get('candidates', 0):.1f} s, scoring "
                    f"{timings.get('scoring', 0):.1f} s, plan {timings.get('plan_solver', 0):.2f} s, save "
                    f"{timings.get('save', 0):.1f} s) | ratio to baseline {wall / base['total']:.1f}x"
                    f"{f', to limit {wall / limit:.1f}x' if limit else ''} | peak memory "
                    f"{peak / 2**20:,.0f} MiB | incremental one need: median {statistics.median(latencies):.0f} ms, "
                    f"p95 {p95:.0f} ms | coverage {run.coverage:.0%}, South-South share {run.south_south_share:.0%}"
                )
                if name == "elasticsearch" and args.workers:
                    alone = run
                    env = {**env, "MATCHING_RUN_HELPERS": "3"}
                    first_wall = None
                    for count in args.workers:
                        search_cpu = _search_node_cpu()
                        wall, peaks, on_workers = _run_on_workers(count, env)
                        if search_cpu is not None:
                            search_cpu = (_search_node_cpu() or 0.0) - search_cpu
                        first_wall = first_wall or wall
                        timings = on_workers.timings
                        print(
                            f"  {name:<13} full run on {count} worker{'s' if count > 1 else ''} {wall:6.1f} s wall "
                            f"(request to completed; batches written by {timings.get('workers', 0)} workers; work "
                            f"summed over them: needs {timings.get('needs', 0):.1f} s, candidates "
                            f"{timings.get('candidates', 0):.1f} s, scoring {timings.get('scoring', 0):.1f} s, reasons "
                            f"{timings.get('reasons', 0):.1f} s, write {timings.get('write', 0):.1f} s; plan "
                            f"{timings.get('plan_solver', 0):.2f} s, save {timings.get('save', 0):.1f} s)"
                            f"{f', to limit {wall / limit:.1f}x' if limit else ''} | speed-up "
                            f"{first_wall / wall:.2f}x | peak memory per worker "
                            f"{', '.join(f'{p / 2**20:,.0f}' for p in peaks)} MiB | versus the in-process run: "
                            f"{_compare_rows(on_workers, alone)}"
                            + (
                                f" | Elasticsearch node CPU {search_cpu:.1f} s "
                                f"({search_cpu / wall / (os.cpu_count() or 1):.0%} of the machine during the run)"
                                if search_cpu is not None
                                else ""
                            )
                        )
            finally:
                backend.drop_all()
                reset_backend(None)
    wipe()


if __name__ == "__main__":
    main()
