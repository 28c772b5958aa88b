"""Load benchmark: the web tier of the production shape under open-loop load, endpoint by endpoint.

    bin/bench load                                         # every endpoint at 25, 50, 100, 200 req/s, 20 s each
    bin/bench load --rates 50 150 300 --duration 25 --endpoints offers search live --shed on off

It starts gunicorn with the ``Dockerfile``'s command (gthread workers and threads, production
settings) on PostgreSQL, Redis and Elasticsearch as ``bin/services start`` gives them, on a seeded
database (``--size`` synthetic offers and as many needs, ``bench/synthetic.py``, indexed), signs
one focal point in, then drives each endpoint with locust (``bench/locustfile.py``, headless, one
process) at each rate for ``--duration`` seconds, and prints per endpoint and rate: the achieved
(offered) rate, the goodput (successful answers per second), p50/p95/p99 of the successful
answers, the errors (503 shed or unavailable, timeouts past ``--timeout``, others), the cores
used by the server and by the generator and the server's CPU milliseconds per answer. The
first and last ``--timeout`` seconds of each run (ramp-up, cut-off) are left out. ``live``
(``/health/live``: no I/O) is the ceiling: what the same processes and generator reach with no
work. ``--shed off`` runs the same command with ``LOAD_SHED_MAX_IN_FLIGHT=0``.

The generator shares the machine with the server: its CPU is taken from the server's. The load
average is printed with every run. Prints numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import django

ROOT = Path(__file__).resolve().parent.parent
ENDPOINTS = ["offers", "offers-etag", "need", "search", "browse", "home", "live"]
BENCH_USER = "load-bench@ta-exchange.invalid"


def dockerfile_command(root: Path = ROOT) -> list[str]:
    """The web command of the image, as a list (the ``CMD`` JSON array)."""
    text = (root / "Dockerfile").read_text()
    match = re.search(r"^CMD\s+(\[.*\])\s*$", text, re.MULTILINE)
    if not match:
        raise RuntimeError("no CMD [...] line in the Dockerfile")
    return json.loads(match.group(1))


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summarise(result: dict, duration: float, margin: float) -> dict:
    started = result["started"]
    start, end = started + margin, started + duration - margin
    window = [r for r in result["records"] if start <= r[0] < end]
    seconds = end - start
    ok = [r[1] for r in window if r[3]]
    return {
        "sent": len(window),
        "achieved": len(window) / seconds,
        "goodput": len(ok) / seconds,
        "p50": _percentile(ok, 50) * 1000,
        "p95": _percentile(ok, 95) * 1000,
        "p99": _percentile(ok, 99) * 1000,
        "unavailable": sum(1 for r in window if r[2] == 503),
        "timeouts": sum(1 for r in window if r[2] == 0),
        "other": sum(1 for r in window if not r[3] and r[2] not in (0, 503)),
    }


def seed(size: int) -> dict:
    """The synthetic knowledge base (reused when it already has ``size`` of each), indexed; the
    bench user's session; published need ids and query words for the generator."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.db.models import Count

    from accounts.models import Membership, User
    from bench.synthetic import generate, wipe
    from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer, Organisation, ThematicArea
    from kb.search import get_backend
    from kb.search.sync import search_rebuild

    published = {
        model: model.objects.filter(status=EntryStatus.PUBLISHED, external_id__startswith="SYN-").count()
        for model in (ExpertiseOffer, AssistanceNeed)
    }
    backend = get_backend()
    if set(published.values()) != {size}:
        started = time.perf_counter()
        wipe()
        generate(offers=size, needs=size, seed=size)
        backend.ensure_indices()
        for kind in ("offer", "need"):
            search_rebuild(kind=kind, backend=backend)
        print(f"seeded {size:,} offers and {size:,} needs in {time.perf_counter() - started:.0f} s")
    else:
        backend.ensure_indices()
        print(f"reusing {size:,} offers and {size:,} needs")

    organisation = (
        Organisation.objects.annotate(n=Count("needs")).filter(country__g77=True).order_by("-n", "pk").first()
    )
    user = User.objects.filter(email=BENCH_USER).first() or User.objects.create_user(
        email=BENCH_USER, password=secrets.token_urlsafe(16)
    )
    Membership.objects.get_or_create(
        user=user,
        organisation=organisation,
        defaults={"is_provider_focal_point": True, "is_recipient_focal_point": True},
    )
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "accounts.backends.UserBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    from django.conf import settings

    words = sorted({t for area in ThematicArea.objects.all() for terms in area.terms.values() for t in terms})
    need_ids = list(
        AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).order_by("pk").values_list("pk", flat=True)
    )
    return {
        "cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}",
        "need_ids": need_ids[:: max(1, len(need_ids) // 1000)],
        "words": words,
        "organisation": organisation.name,
    }


class Server:
    """gunicorn with the Dockerfile's command, on a loopback port."""

    def __init__(self, port: int, env: dict, log: Path, root: Path = ROOT) -> None:
        command = dockerfile_command(root)
        if command[0] != "gunicorn":
            raise RuntimeError(f"the Dockerfile's CMD is not gunicorn: {command}")
        command = [sys.executable, "-m", "gunicorn", *command[1:]]
        command[command.index("--bind") + 1] = f"127.0.0.1:{port}"
        # gunicorn's control socket is one path per user: another gunicorn on this machine has it.
        command.append("--no-control-socket")
        self.command = command
        self.root = root
        self.url = f"http://127.0.0.1:{port}"
        self.env = env
        self.log = log
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                self.command, cwd=self.root, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}; see {self.log}")
            try:
                with urllib.request.urlopen(f"{self.url}/health/live", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.5)
        raise RuntimeError("gunicorn did not answer /health/live within 90 s")

    def cpu_seconds(self) -> float:
        """CPU time used so far by gunicorn's master and workers."""
        import psutil

        master = psutil.Process(self.process.pid)
        total = 0.0
        for process in [master, *master.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def warm(self, data: dict) -> None:
        """Each endpoint a few times: templates compiled, connections open in the threads. Notes
        the offers list's ETag for the polling client (``offers-etag``)."""
        paths = {
            "offers": "/api/v1/offers/",
            "need": f"/api/v1/needs/{data['need_ids'][0]}/",
            "search": f"/api/v1/search/?q={urllib.request.quote(data['words'][0])}",
            "browse": f"/browse/?q={urllib.request.quote(data['words'][0])}",
            "home": "/",
            "live": "/health/live",
        }
        for name, path in paths.items():
            for _ in range(10):
                request = urllib.request.Request(self.url + path, headers={"Cookie": data["cookie"]})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    if answer.status != 200:
                        raise RuntimeError(f"{name} answered {answer.status}")
                    if name == "offers":
                        data["offers_etag"] = answer.headers["ETag"]


def drive(server: Server, endpoint: str, rate: int, args, data_file: str, out_dir: str) -> dict:
    users = max(1, round(rate * args.timeout))
    out = os.path.join(out_dir, f"{endpoint}-{rate}.json")
    env = {
        **os.environ,
        "LOAD_ENDPOINT": endpoint,
        "LOAD_DATA": data_file,
        "LOAD_PACING": str(args.timeout),
        "LOAD_OUT": out,
    }
    command = [
        sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
        "--users", str(users), "--spawn-rate", str(max(1.0, users / args.timeout)),
        "--run-time", f"{args.duration}s", "--stop-timeout", str(int(args.timeout) + 1),
        "--host", server.url, "--only-summary", "--loglevel", "ERROR",
    ]  # fmt: skip
    server_cpu = server.cpu_seconds()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    with open(Path(out_dir) / "locust.log", "a") as log:
        subprocess.run(command, env=env, cwd=ROOT, check=False, stdout=log, stderr=subprocess.STDOUT)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    generator_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    server_cpu = server.cpu_seconds() - server_cpu
    if not os.path.exists(out):
        raise RuntimeError(f"locust wrote no results; see {out_dir}/locust.log")
    with open(out) as handle:
        result = json.load(handle)
    row = summarise(result, args.duration, args.timeout)
    answered = max(1, len(result["records"]))
    # Cores used by the server and the generator over the run, and the server's CPU per answer.
    row.update(server_cores=server_cpu / wall, generator_cores=generator_cpu / wall)
    row["cpu_ms"] = 1000 * server_cpu / answered
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rates", nargs="+", type=int, default=[25, 50, 100, 200], help="requests per second")
    parser.add_argument("--duration", type=int, default=20, help="seconds per endpoint and rate")
    parser.add_argument("--endpoints", nargs="+", default=ENDPOINTS, choices=ENDPOINTS)
    parser.add_argument("--shed", nargs="+", default=["on"], choices=["on", "off"], help="load shedding")
    parser.add_argument("--timeout", type=float, default=2.0, help="client timeout and pacing, seconds")
    parser.add_argument("--size", type=int, default=2500, help="synthetic offers, and as many needs")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--server-tree",
        type=Path,
        default=ROOT,
        help="serve another checkout of the same schema (e.g. `git archive main` unpacked) for before/after",
    )
    args = parser.parse_args()

    var = Path(os.environ.get("TA_VAR_DIR", ROOT / "var" / "bench"))
    var.mkdir(parents=True, exist_ok=True)
    env_file = var / "load-secret-key"
    if not env_file.exists():
        env_file.write_text(secrets.token_urlsafe(50))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": env_file.read_text().strip(),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SITE_URL": f"http://127.0.0.1:{args.port}",
            "DJANGO_SECURE_SSL_REDIRECT": "false",
            "DJANGO_SECURE_HSTS_SECONDS": "0",
            "SEARCH_INDEX_PREFIX": "ta-bench-load",  # its own indices, not the other benches'
        }
    )
    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", "--no-input", verbosity=0)
    call_command("compile_translations", verbosity=0)
    tree = args.server_tree.resolve()
    if tree != ROOT:
        manage = [sys.executable, "manage.py", "compile_translations", "-v0"]
        subprocess.run(manage, cwd=tree, env=dict(os.environ), check=True)
    data = seed(args.size)
    from django.db import connections

    connections.close_all()

    out_dir = tempfile.mkdtemp(prefix="ta-load-")
    data_file = os.path.join(out_dir, "data.json")
    command = " ".join(dockerfile_command(tree))
    print(f"server: {command} (--bind 127.0.0.1:{args.port}), settings config.settings.production, in {tree}")
    print(f"signed in as a focal point of {data['organisation']}; client timeout {args.timeout:g} s; ")
    print(f"{args.duration} s per endpoint and rate, of which the middle {args.duration - 2 * args.timeout:g} s count")
    print(f"{os.cpu_count()} CPUs; load average printed as 1-minute values at the end of each run\n")
    header = (
        f"{'server':<12} {'endpoint':<11} {'rate':>5} {'achieved':>9} {'goodput':>8} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'p99 ms':>8} {'503':>6} {'timeout':>7} {'other':>6} {'srv cpu':>7} {'ms/req':>6} {'gen cpu':>7} {'load':>5}"
    )
    rows = []
    labels = []
    for shed in args.shed:
        # "shed on"/"shed off" for this tree; another tree (before/after) is named by its folder.
        label = f"shed {shed}" if tree == ROOT else tree.name + ("" if len(args.shed) == 1 else f" {shed}")
        labels.append(label)
        env = dict(os.environ)
        if shed == "off":
            env["LOAD_SHED_MAX_IN_FLIGHT"] = "0"
        server = Server(args.port, env, var / "load-gunicorn.log", tree)
        server.start()
        try:
            server.warm(data)
            with open(data_file, "w") as handle:
                json.dump(data, handle)
            print(header)
            for endpoint in args.endpoints:
                for rate in args.rates:
                    row = drive(server, endpoint, rate, args, data_file, out_dir)
                    row.update(shed=label, endpoint=endpoint, rate=rate, load=os.getloadavg()[0])
                    rows.append(row)
                    print(
                        f"{label:<12} {endpoint:<11} {rate:>5} {row['achieved']:>9.1f} {row['goodput']:>8.1f} "
                        f"{row['p50']:>8.1f} {row['p95']:>8.1f} {row['p99']:>8.1f} {row['unavailable']:>6} "
                        f"{row['timeouts']:>7} {row['other']:>6} {row['server_cores']:>7.2f} {row['cpu_ms']:>6.1f} "
                        f"{row['generator_cores']:>7.2f} {row['load']:>5.1f}",
                        flush=True,
                    )
        finally:
            server.stop()
        print()
    for label in labels:
        for endpoint in args.endpoints:
            mine = [r for r in rows if r["shed"] == label and r["endpoint"] == endpoint]
            peak = max(mine, key=lambda r: r["goodput"])
            # The target: at twice the saturating rate (the peak's), goodput >= 80 % of the peak.
            past = [r for r in mine if r["rate"] >= 2 * peak["rate"]]
            if past and peak["goodput"] > 0:
                over = min(past, key=lambda r: r["rate"])
                print(
                    f"{label}, {endpoint}: peak goodput {peak['goodput']:.1f}/s at {peak['rate']}/s; at "
                    f"{over['rate']}/s {over['goodput']:.1f}/s ({100 * over['goodput'] / peak['goodput']:.0f} % of the peak)"
                )
    (var / "load-results.json").write_text(json.dumps(rows, indent=1))
    print(f"\nmedian load average over the runs: {statistics.median(r['load'] for r in rows):.1f}")


if __name__ == "__main__":
    main()
