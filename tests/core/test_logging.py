"""Logs that help at 3 a.m. (core.logging): JSON lines, one line per retried attempt with no
traceback (the traceback once, on the last), repeated outage messages rate-limited, 503s at WARNING."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import RequestFactory
from django.utils.log import log_response

from config.celery import app as celery_app
from core.logging import JsonFormatter, RateLimitFilter, ServiceUnavailableAsWarning, logging_config


class Boom(Exception):
    pass


@celery_app.task(bind=True, autoretry_for=(Boom,), max_retries=2, default_retry_delay=0, name="tests.core.flaky")
def flaky(self):
    raise Boom("search down")


def _record(msg="search unavailable for %s", args=("x",), level=logging.WARNING, name="kb.search", **extra):
    record = logging.LogRecord(name, level, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_json_formatter_writes_one_parseable_object_with_the_expected_keys():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    log = logging.getLogger("tests.core.json")
    log.addHandler(handler)
    log.propagate = False
    try:
        log.warning("search unavailable for %s", "offers", extra={"attempt": 3})
        try:
            raise Boom("kaput")
        except Boom:
            log.exception("indexing failed")
    finally:
        log.removeHandler(handler)
        log.propagate = True
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert {"time", "level", "logger", "message"} <= first.keys()
    assert first["level"] == "WARNING"
    assert first["logger"] == "tests.core.json"
    assert first["message"] == "search unavailable for offers"
    assert first["attempt"] == 3
    assert second["level"] == "ERROR"
    assert "Boom: kaput" in second["exc_info"]


def test_logging_config_names_the_bad_format():
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        logging_config(fmt="xml", level="INFO")
    assert logging_config(fmt="json", level="INFO")["handlers"]["console"]["formatter"] == "json"


def test_rate_limit_lets_one_through_per_key_and_counts_the_suppressed():
    now = [1000.0]
    limit = RateLimitFilter(seconds=30, clock=lambda: now[0])
    assert limit.filter(_record(args=("a",)))
    # Same template, other arguments: the same outage message.
    assert [limit.filter(_record(args=(str(i),))) for i in range(5)] == [False] * 5
    # Another message is its own key; INFO is never limited.
    assert limit.filter(_record(msg="broker unavailable"))
    assert all(limit.filter(_record(level=logging.INFO)) for _ in range(3))
    now[0] += 30
    again = _record(args=("b",))
    assert limit.filter(again)
    assert again.suppressed == 5
    assert again.getMessage() == "search unavailable for b (5 similar suppressed)"
    nothing_suppressed = _record()
    now[0] += 31
    assert limit.filter(nothing_suppressed)
    assert not hasattr(nothing_suppressed, "suppressed")


def test_rate_limit_uses_an_explicit_key():
    limit = RateLimitFilter(seconds=30, clock=lambda: 0.0)
    assert limit.filter(_record(msg="one", ratelimit_key="es"))
    assert not limit.filter(_record(msg="two", ratelimit_key="es"))
    assert limit.filter(_record(msg="two", ratelimit_key="redis"))


def test_a_503_response_is_logged_at_warning(caplog):
    request = RequestFactory().get("/api/v1/search/")
    from django.http import HttpResponse

    logger = logging.getLogger("django.request")
    logger.addFilter(unavailable := ServiceUnavailableAsWarning())
    try:
        with caplog.at_level(logging.INFO, logger="django.request"):
            log_response("Service Unavailable: %s", request.path, response=HttpResponse(status=503), request=request)
            log_response("Internal Server Error: %s", request.path, response=HttpResponse(status=500), request=request)
    finally:
        logger.removeFilter(unavailable)
    levels = [(r.status_code, r.levelname) for r in caplog.records if r.name == "django.request"]
    assert levels == [(503, "WARNING"), (500, "ERROR")]


def test_the_configured_django_request_logger_downgrades_503():
    from django.conf import settings

    assert "unavailable_as_warning" in settings.LOGGING["loggers"]["django.request"]["filters"]


def test_each_retried_attempt_is_one_warning_line_and_only_the_last_has_a_traceback(caplog, monkeypatch):
    # As a worker runs it: a failure is recorded on the result, not raised into the caller.
    monkeypatch.setitem(celery_app.conf, "CELERY_TASK_EAGER_PROPAGATES", False)
    with caplog.at_level(logging.INFO):
        result = flaky.apply(throw=False)
    assert isinstance(result.result, Boom)
    retries = [r for r in caplog.records if r.name == "core.tasks.retry"]
    assert [r.attempt for r in retries] == [1, 2]
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in retries)
    assert retries[0].getMessage().startswith("task tests.core.flaky[")
    assert "attempt 1 of 3 failed: Boom: search down" in retries[0].getMessage()
    with_traceback = [r for r in caplog.records if r.exc_info]
    assert len(with_traceback) == 1
    assert all(r.levelno >= logging.ERROR for r in with_traceback)
