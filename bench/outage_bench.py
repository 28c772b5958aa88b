"""Outage benchmark: the production shape under a Redis outage (refused, then hung) and a hung
Elasticsearch, with people writing through the API and the web pages the whole time.

    bin/bench outage                                   # the issue's experiment: 180 s, 120 s, 60 s
    bin/bench outage --refused 60 --hung 40 --es-hung 30 --settle 240

The product runs as in production on this machine: gunicorn (gthread, the Dockerfile's
settings), a Celery worker (queues celery and matching) and beat, PostgreSQL, and Redis and
Elasticsearch reached through fault proxies (``bench/faultproxy.py``) that refuse or hang on cue;
the shared services themselves are never touched. A small knowledge base is seeded first.

Through every phase (baseline, Redis refused, Redis hung, Elasticsearch hung, and a pause between
them) a driver does, about ``--rate`` times a second in turn:

- an API write: a focal point creates a need, submits it, and a moderator publishes it (which
  indexes it, computes its vectors, re-scores it and notifies its focal points by e-mail);
- a web write: the other State's focal point creates a need through the web form;
- database-only reads: the offers list of the API and the "My entries" page.

It prints, per phase and kind of request: requests, successes, failures that committed nothing
(the user can retry safely), failures *after* committing (the user would retry and duplicate:
must be 0), and latency p50/p95/max. After the last phase it waits (up to ``--settle`` seconds)
for every need published during the bench to be re-scored and every notification to be
e-mailed, and says how long that took. Prints numbers; it is not a test.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit

import django

ROOT = Path(__file__).resolve().parent.parent
REDIS_DB = 6
PASSWORD = "outage-bench-Pa55word!"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Driver:
    """Sends the workload from threads of its own and records every request's outcome."""

    def __init__(self, base: str, tokens: dict[str, str], web_email: str, web_organisation: int, rate: float,
                 timeout: float):  # fmt: skip
        import requests

        self.base, self.tokens, self.rate, self.timeout = base, tokens, rate, timeout
        self.web_organisation = web_organisation
        self.phase = "setup"
        self.records: list[dict] = []
        self.published: list[str] = []  # titles of needs the moderator published
        self.attempted_titles: dict[str, str] = {}  # title -> outcome of its create request
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.web = requests.Session()
        page = self.web.get(f"{base}/accounts/login/", timeout=10)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        self.web.post(
            f"{base}/accounts/login/",
            data={"username": web_email, "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={"Referer": f"{base}/accounts/login/"},
            timeout=10,
        ).raise_for_status()

    def _record(self, kind: str, started: float, status: int | None, ok: bool, title: str = "") -> None:
        with self._lock:
            self.records.append(
                {"phase": self.phase, "kind": kind, "seconds": time.monotonic() - started, "status": status,
                 "ok": ok, "title": title}
            )  # fmt: skip

    def _call(self, kind: str, method: str, path: str, token: str | None = None, title: str = "", **kwargs):
        import requests

        started = time.monotonic()
        headers = {"Authorization": f"Token {token}"} if token else {}
        try:
            response = requests.request(method, f"{self.base}{path}", headers=headers, timeout=self.timeout, **kwargs)
        except requests.RequestException:
            self._record(kind, started, None, False, title)
            return None
        self._record(kind, started, response.status_code, response.status_code < 400, title)
        return response

    def api_write(self, number: int, organisation: int) -> None:
        title = f"Outage bench need {number} {uuid.uuid4().hex[:6]}"
        payload = {"organisation": organisation, "title": title, "description": "Training verifiers of asset "
                   "declarations and investigators of illicit enrichment.", "language": "en", "articles": [8, 20],
                   "ta_types": ["capacity_building"], "priority": "medium", "south_south": "none",
                   "providers_wanted": 1}  # fmt: skip
        self.attempted_titles[title] = "api"
        created = self._call("api write", "POST", "/api/v1/needs/", self.tokens["api"], title, json=payload)
        if created is None or created.status_code != 201:
            return
        need_id = created.json()["id"]
        submitted = self._call("api write", "POST", f"/api/v1/needs/{need_id}/submit/", self.tokens["api"], title)
        if submitted is None or submitted.status_code != 200:
            return
        published = self._call(
            "api write", "POST", f"/api/v1/needs/{need_id}/publish/", self.tokens["moderator"], title
        )
        if published is not None and published.status_code == 200:
            self.published.append(title)

    def web_write(self, number: int) -> None:
        import requests

        title = f"Outage bench web need {number} {uuid.uuid4().hex[:6]}"
        self.attempted_titles[title] = "web"
        started = time.monotonic()
        try:
            form = self.web.get(f"{self.base}/needs/new/", timeout=self.timeout)
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
            if form.status_code != 200 or token is None:
                self._record("web write", started, form.status_code, False, title)
                return
            data = {"csrfmiddlewaretoken": token.group(1), "organisation": self.web_organisation,
                    "title": title, "description": "Help with whistle-blower protection.", "language": "en",
                    "priority": "medium", "south_south": "none", "providers_wanted": 1}  # fmt: skip
            response = self.web.post(
                f"{self.base}/needs/new/",
                data=data,
                headers={"Referer": f"{self.base}/needs/new/"},
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.RequestException:
            self._record("web write", started, None, False, title)
            return
        self._record("web write", started, response.status_code, response.status_code == 302, title)

    def reads(self) -> None:
        self._call("api read (database only)", "GET", "/api/v1/offers/?page_size=20", self.tokens["api"])
        import requests

        started = time.monotonic()
        try:
            response = self.web.get(f"{self.base}/mine/", timeout=self.timeout)
        except requests.RequestException:
            self._record("web read (database only)", started, None, False)
            return
        self._record("web read (database only)", started, response.status_code, response.status_code == 200)

    def run(self, organisation: int) -> None:
        number = 0
        while not self._stop.is_set():
            tick = time.monotonic()
            number += 1
            threads = [
                threading.Thread(target=self.api_write, args=(number, organisation)),
                threading.Thread(target=self.web_write, args=(number,)),
                threading.Thread(target=self.reads),
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - tick)))

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", type=float, default=30, help="seconds before the first outage")
    parser.add_argument("--refused", type=float, default=180, help="seconds Redis refuses connections")
    parser.add_argument("--hung", type=float, default=120, help="seconds Redis accepts and never answers")
    parser.add_argument("--es-hung", type=float, default=60, help="seconds Elasticsearch hangs")
    parser.add_argument("--pause", type=float, default=30, help="seconds of normal service between outages")
    parser.add_argument("--settle", type=float, default=420, help="seconds to wait for the catch-up afterwards")
    parser.add_argument("--rate", type=float, default=1.0, help="rounds of requests per second")
    parser.add_argument("--timeout", type=float, default=35, help="client timeout per request (above gunicorn's 30 s)")
    parser.add_argument("--size", type=int, default=300, help="needs and offers seeded")
    args = parser.parse_args()

    from bench.faultproxy import FaultProxy

    redis_target = urlsplit(os.environ["REDIS_URL"])
    es_target = urlsplit(os.environ["ELASTICSEARCH_URL"])
    redis_proxy = FaultProxy(redis_target.hostname, redis_target.port or 6379).start()
    es_proxy = FaultProxy(es_target.hostname, es_target.port or 9200).start()
    broker = redis_proxy.url("redis", f"/{REDIS_DB}")
    port = _free_port()
    os.environ.update(
        {
            "REDIS_URL": broker,
            "CELERY_BROKER_URL": broker,
            "ELASTICSEARCH_URL": es_proxy.url("http"),
            "SEARCH_INDEX_PREFIX": f"ta-outage-{uuid.uuid4().hex[:8]}",
            "SITE_URL": f"http://127.0.0.1:{port}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "API_WRITE_THROTTLE_RATE": "100000/min",
        }
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")
    django.setup()
    import redis
    import requests

    from accounts.services import token_create
    from bench.synthetic import generate, wipe
    from kb.models import AssistanceNeed, Country
    from kb.search import get_backend
    from kb.search.sync import search_rebuild
    from kb.vectors.sync import entry_vectors_reconcile
    from matching.models import MatchRun, NeedOutcome, Notification
    from tests.factories import MembershipFactory, OrganisationFactory, UserFactory

    redis.Redis.from_url(broker).flushdb()
    wipe()
    MatchRun.objects.all().delete()
    generate(offers=args.size, needs=args.size, seed=args.size)
    entry_vectors_reconcile()
    backend = get_backend()
    backend.ensure_indices()
    for kind in ("offer", "need"):
        search_rebuild(kind=kind, backend=backend)

    def focal_point(iso3: str):
        organisation = OrganisationFactory(
            country=Country.objects.get(iso3=iso3), name=f"Outage bench agency {uuid.uuid4().hex[:8]}"
        )
        membership = MembershipFactory(user=UserFactory(email=f"outage-{uuid.uuid4().hex[:8]}@example.org"),
                                       organisation=organisation, is_provider_focal_point=True,
                                       is_recipient_focal_point=True)  # fmt: skip
        membership.user.set_password(PASSWORD)
        membership.user.save()
        return membership.user, organisation

    api_user, api_org = focal_point("CIV")
    web_user, web_org = focal_point("KEN")
    moderator = UserFactory(email=f"outage-moderator-{uuid.uuid4().hex[:8]}@example.org")
    from accounts.services import user_make_moderator

    user_make_moderator(user=moderator)
    tokens = {"api": token_create(user=api_user)[1], "moderator": token_create(user=moderator)[1]}
    redis.Redis.from_url(broker).flushdb()  # the set-up's own after-commit tasks are done already

    logs = open(ROOT / "var" / "outage-bench.log", "w")  # noqa: SIM115
    processes: list[subprocess.Popen] = []

    def start(*command: str) -> None:
        processes.append(
            subprocess.Popen(list(command), cwd=ROOT, env=os.environ, stdout=logs, stderr=subprocess.STDOUT)
        )

    start(sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
          "--worker-class", "gthread", "--workers", "2", "--threads", "8", "--timeout", "30")  # fmt: skip
    start(sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2",
          "-Q", "celery,matching", "-l", "info", "--without-gossip", "--without-mingle",
          "-n", f"outage-{uuid.uuid4().hex[:6]}@localhost")  # fmt: skip
    start(sys.executable, "-m", "celery", "-A", "config", "beat", "-l", "info",
          "--schedule", str(ROOT / "var" / "outage-beat"))  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(f"{base}/health/live", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("gunicorn did not start (see var/outage-bench.log)")
        time.sleep(0.5)

    driver = Driver(base, tokens, web_user.email, web_org.pk, args.rate, args.timeout)
    worker = threading.Thread(target=driver.run, args=(api_org.pk,), daemon=True)
    print(f"{args.size:,} needs x {args.size:,} offers; gunicorn gthread 2x8 on :{port}; worker, beat; "
          f"{args.rate:g} rounds/s (API write, web write, two database-only reads)")  # fmt: skip
    phases = [
        ("baseline", None, None, args.baseline),
        ("Redis refused", redis_proxy, "refuse", args.refused),
        ("after Redis refused", redis_proxy, "pass", args.pause),
        ("Redis hung", redis_proxy, "hang", args.hung),
        ("after Redis hung", redis_proxy, "pass", args.pause),
        ("Elasticsearch hung", es_proxy, "hang", args.es_hung),
        ("after Elasticsearch hung", es_proxy, "pass", args.pause),
    ]
    bench_started = time.monotonic()
    try:
        worker.start()
        for name, proxy, mode, seconds in phases:
            if proxy is not None:
                proxy.set_mode(mode)
            driver.phase = name
            time.sleep(seconds)
        driver.stop()
        worker.join(timeout=args.timeout * 4)
        ended = time.monotonic()
        titles = list(driver.published)
        print()
        print(
            "| phase | requests | kind | ok | failed, nothing committed | failed after committing | p50 | p95 | max |"
        )
        print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
        committed = set(
            AssistanceNeed.objects.filter(title__in=list(driver.attempted_titles)).values_list("title", flat=True)
        )
        groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for record in driver.records:
            groups[(record["phase"], record["kind"])].append(record)
        for name, *_rest in phases:
            for kind in ("api write", "web write", "api read (database only)", "web read (database only)"):
                rows = groups.get((name, kind), [])
                if not rows:
                    continue
                failed = [r for r in rows if not r["ok"]]
                # A failed write whose entry exists anyway committed before failing: the user would retry and duplicate.
                after_commit = [r for r in failed if r["title"] and r["title"] in committed
                                and not any(o["ok"] for o in rows if o["title"] == r["title"])]  # fmt: skip
                seconds = [r["seconds"] for r in rows]
                print(f"| {name} | {len(rows)} | {kind} | {len(rows) - len(failed)} | {len(failed) - len(after_commit)} "
                      f"| {len(after_commit)} | {statistics.median(seconds) * 1000:.0f} ms "
                      f"| {_percentile(seconds, 0.95) * 1000:.0f} ms | {max(seconds) * 1000:.0f} ms |")  # fmt: skip
        statuses = defaultdict(int)
        for record in driver.records:
            statuses[record["status"]] += 1
        print(f"\nstatuses: {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}; "
              f"requests over 2 s: {sum(r['seconds'] > 2 for r in driver.records)}")  # fmt: skip

        # The catch-up: every need published during the bench re-scored, every notification e-mailed.
        need_ids = list(AssistanceNeed.objects.filter(title__in=titles).values_list("id", flat=True))
        waiting_since = time.monotonic()
        while True:
            scored = NeedOutcome.objects.filter(need_id__in=need_ids, is_current=True).values("need_id").distinct()
            unsent = Notification.objects.filter(emailed_at__isnull=True, user__in=[api_user, web_user, moderator])
            scored_count, unsent_count = scored.count(), unsent.count()
            if (scored_count == len(need_ids) and unsent_count == 0) or time.monotonic() - waiting_since > args.settle:
                break
            time.sleep(2)
        emailed = Notification.objects.filter(
            user__in=[api_user, web_user, moderator], emailed_at__isnull=False
        ).count()
        print(f"catch-up after the last outage: {len(need_ids)} needs published during the bench, {scored_count} "
              f"re-scored; notifications e-mailed {emailed}, not e-mailed {unsent_count}; "
              f"{time.monotonic() - ended:.0f} s after the workload stopped "
              f"({time.monotonic() - bench_started:.0f} s in all)")  # fmt: skip
    finally:
        driver.stop()
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        redis_proxy.stop()
        es_proxy.stop()


if __name__ == "__main__":
    main()
