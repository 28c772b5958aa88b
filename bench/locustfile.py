"""The load generator of ``bin/bench load`` (``bench/load_bench.py`` runs it headless, one endpoint
and one rate at a time): locust users that each send one request every ``LOAD_PACING`` seconds, so
``rate x pacing`` users offer ``rate`` requests per second. A request may take at most
``LOAD_PACING`` seconds (the client's timeout), so a slow server does not slow the arrivals: the
offered rate stays open-loop, as real clients' does, and requests past the timeout count as errors.

Every request is recorded (start time, duration, status) in ``LOAD_OUT`` at the end; the bench
computes the percentiles, errors and goodput over the steady part of the run.

Environment: ``LOAD_ENDPOINT`` (a key of ``ENDPOINTS``), ``LOAD_DATA`` (a JSON file with the
session cookie, need ids and query words), ``LOAD_PACING``, ``LOAD_OUT``.
"""

from __future__ import annotations

import json
import os
import random
import time
from urllib.parse import quote

from locust import FastHttpUser, constant_pacing, events, task

PACING = float(os.environ.get("LOAD_PACING", "2"))
ENDPOINT = os.environ.get("LOAD_ENDPOINT", "live")
DATA = json.loads(open(os.environ["LOAD_DATA"]).read()) if os.environ.get("LOAD_DATA") else {}  # noqa: SIM115
RECORDS: list[tuple[float, float, int, bool]] = []
STARTED: list[float] = []


def _word() -> str:
    return quote(random.choice(DATA["words"]))


#: endpoint -> (path builder, signed in)
ENDPOINTS = {
    "offers": (lambda: "/api/v1/offers/", True),
    # A client polling the list it already has: If-None-Match with the list's ETag, 304.
    "offers-etag": (lambda: "/api/v1/offers/", True),
    "need": (lambda: f"/api/v1/needs/{random.choice(DATA['need_ids'])}/", True),
    "search": (lambda: f"/api/v1/search/?q={_word()}", True),
    "browse": (lambda: f"/browse/?q={_word()}", True),
    "home": (lambda: "/", True),
    "live": (lambda: "/health/live", False),
}


class Client(FastHttpUser):
    wait_time = constant_pacing(PACING)
    network_timeout = PACING
    connection_timeout = PACING
    # Failures are counted by the bench from the records, not retried.
    max_retries = 0

    @task
    def request(self) -> None:
        path, signed_in = ENDPOINTS[ENDPOINT]
        headers = {"Cookie": DATA["cookie"]} if signed_in else {}
        if ENDPOINT == "offers-etag":
            headers["If-None-Match"] = DATA["offers_etag"]
        # Each path is one name for locust's own statistics; ours are in RECORDS.
        self.client.get(path(), headers=headers, name=ENDPOINT)


@events.test_start.add_listener
def _started(**_kwargs) -> None:
    STARTED.append(time.time())


@events.request.add_listener
def _record(response_time, response=None, exception=None, start_time=None, **_kwargs) -> None:
    status = getattr(response, "status_code", 0) or 0
    ok = exception is None and 200 <= status < 400
    RECORDS.append((start_time or time.time(), response_time / 1000, status, ok))


@events.quitting.add_listener
def _write(**_kwargs) -> None:
    out = os.environ.get("LOAD_OUT")
    if out:
        with open(out, "w") as handle:
            json.dump({"started": STARTED[0] if STARTED else None, "records": RECORDS}, handle)
