"""Health as operators use it: ``/health/live`` and ``/health/ready``.

- ``live``: the process is up and serving. No I/O at all: a hung dependency never makes a live
  process look dead (which would only get it restarted for nothing).
- ``ready``: the database (required: 503 without it), the broker, search, how far behind the
  search outbox is and how long the oldest queued matching run has waited. Broker and search are
  probed concurrently with a deadline of HEALTH_CHECK_TIMEOUT seconds, so the check answers fast
  even when one of them hangs; either one failing makes the answer "degraded" (still 200: the rest
  of the site works, and a load balancer must not take every web process out for a search outage).

Neither shows entry counts (anonymous callers can reach both).
"""

from __future__ import annotations

import concurrent.futures
import time

from django.conf import settings
from django.db import connection
from django.db.models import Min
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache

_probes = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="health")


@never_cache
def live(request):
    return JsonResponse({"status": "ok"})


def _broker() -> str:
    from config.celery import app
    from core.tasks import broker_available

    if app.conf.task_always_eager:
        return "in-process"
    if not broker_available():
        return "unavailable (recent publish failed)"
    import redis

    timeout = settings.HEALTH_CHECK_TIMEOUT / 2
    client = redis.Redis.from_url(app.conf.broker_url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    finally:
        client.close()
    return "ok"


def _search() -> str:
    from kb.search import get_backend

    backend = get_backend()
    if backend.name == "elasticsearch":
        from kb.search.backends.elasticsearch import search_breaker

        if search_breaker.is_open:
            return "unavailable (circuit open)"
    backend.health()
    return "ok"


def _age_seconds(moment) -> float | None:
    return None if moment is None else round((timezone.now() - moment).total_seconds(), 1)


@never_cache
def ready(request):
    from kb.models import SearchOutbox
    from matching.models import MatchRun, RunStatus

    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # nothing works without the database
        return JsonResponse({"status": "down", "database": f"unavailable: {type(exc).__name__}"}, status=503)
    report: dict = {"status": "ok", "database": "ok"}
    probes = {"broker": _probes.submit(_broker), "search": _probes.submit(_search)}
    deadline = started + settings.HEALTH_CHECK_TIMEOUT
    for name, probe in probes.items():
        try:
            report[name] = probe.result(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            report[name] = f"no answer within {settings.HEALTH_CHECK_TIMEOUT:g} s"
        except Exception as exc:
            report[name] = f"unavailable: {type(exc).__name__}"
        if report[name] not in ("ok", "in-process"):
            report["status"] = "degraded"
    report["search_outbox_oldest_seconds"] = _age_seconds(SearchOutbox.objects.aggregate(t=Min("created_at"))["t"])
    report["matching_queued_oldest_seconds"] = _age_seconds(
        MatchRun.objects.filter(status=RunStatus.QUEUED).aggregate(t=Min("created_at"))["t"]
    )
    report["seconds"] = round(time.monotonic() - started, 3)
    return JsonResponse(report)
