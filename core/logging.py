"""Logs an operator can read at 3 a.m.

- ``JsonFormatter``: one JSON object per line (``time``, ``level``, ``logger``, ``message``, plus
  ``exc_info`` when there is a traceback and any ``extra=`` fields), what production writes so a
  log shipper can index it without parsing free text.
- ``RateLimitFilter``: an outage repeats the same message thousands of times (each request, each
  retry). The filter lets one record per key through every ``seconds`` (default 30) and drops the
  rest; the next record let through says how many were dropped (``suppressed`` field and a
  "(N similar suppressed)" suffix). The key is the record's ``ratelimit_key`` extra, or else its
  logger, level and message *template* (so "search unavailable for %s" with different arguments
  counts as one message). Only WARNING and above are limited: INFO and DEBUG lines pass.
- ``ServiceUnavailableAsWarning``: 503 responses are logged at WARNING, not Django's ERROR.
- ``log_task_retry``: one WARNING line per failed attempt of a Celery task that will be retried,
  with the attempt number and the error, never a traceback. The last attempt fails through Celery's
  own failure log, which does carry the traceback, once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

retry_logger = logging.getLogger("core.tasks.retry")

#: Celery's own "Task x[id] retry: ..." INFO line, which ``log_task_retry`` replaces.
_CELERY_RETRY_TEMPLATE = "Task %(name)s[%(id)s] retry: %(exc)s"


class JsonFormatter(_BaseJsonFormatter):
    """``python-json-logger`` with the field names an operator searches for."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(asctime)s %(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"asctime": "time", "levelname": "level", "name": "logger"})
        kwargs.setdefault("datefmt", "%Y-%m-%dT%H:%M:%S%z")
        super().__init__(*args, **kwargs)


class RateLimitFilter(logging.Filter):
    """At most one WARNING-or-worse record per key every ``seconds``; see the module docstring.

    ``clock`` is injectable so tests step time instead of sleeping."""

    def __init__(self, seconds: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.seconds = float(seconds)
        self.clock = clock
        self._lock = threading.Lock()
        # key -> [time last let through, records suppressed since]
        self._seen: dict[Any, list[float | int]] = {}

    @staticmethod
    def key(record: logging.LogRecord) -> Any:
        explicit = getattr(record, "ratelimit_key", None)
        if explicit is not None:
            return ("explicit", explicit)
        return (record.name, record.levelno, str(record.msg))

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        key = self.key(record)
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.seconds:
                seen[1] += 1
                return False
            suppressed = int(seen[1]) if seen is not None else 0
            self._seen[key] = [now, 0]
            if len(self._seen) > 10_000:  # a message with a unique key per line must not leak memory
                cutoff = now - self.seconds
                self._seen = {k: v for k, v in self._seen.items() if v[0] >= cutoff or k == key}
        if suppressed:
            record.suppressed = suppressed
            record.msg = f"{record.msg} ({suppressed} similar suppressed)"
        return True


class DropCeleryRetryLine(logging.Filter):
    """Drop Celery's own retry INFO line: ``log_task_retry`` writes the useful one."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "celery.app.trace" and record.msg == _CELERY_RETRY_TEMPLATE)


class ServiceUnavailableAsWarning(logging.Filter):
    """Django logs every 5xx response at ERROR. A 503 is a dependency being down (search, a busy
    database, readiness): expected during an outage, answered cleanly, so WARNING."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "status_code", None) == 503 and record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


def log_task_retry(sender: Any = None, request: Any = None, reason: Any = None, **_kwargs: Any) -> None:
    """Receiver of Celery's ``task_retry`` signal: one line, no traceback."""

    retries = getattr(request, "retries", 0) or 0
    attempt = retries + 1
    max_retries = getattr(sender, "max_retries", None)
    error = getattr(reason, "exc", None) or reason
    when = getattr(reason, "when", None)
    retry_logger.warning(
        "task %s[%s] attempt %s%s failed: %s: %s; retrying%s",
        getattr(sender, "name", sender),
        getattr(request, "id", "?"),
        attempt,
        f" of {max_retries + 1}" if isinstance(max_retries, int) else "",
        type(error).__name__,
        error,
        f" in {when:.0f} s" if isinstance(when, int | float) else "",
        extra={
            "task": getattr(sender, "name", str(sender)),
            "task_id": getattr(request, "id", None),
            "attempt": attempt,
            "max_attempts": max_retries + 1 if isinstance(max_retries, int) else None,
            "error": f"{type(error).__name__}: {error}",
            # Every task's retries during one outage are one message for the rate limit.
            "ratelimit_key": ("retry", getattr(sender, "name", str(sender)), attempt),
        },
    )


def logging_config(*, fmt: str, level: str, ratelimit_seconds: float = 30.0) -> dict:
    """The ``LOGGING`` dict: console output, ``fmt`` "json" (production) or "plain" (development,
    embedded, tests), outage messages rate-limited on the handler."""

    if fmt not in ("json", "plain"):
        raise ValueError(f'LOG_FORMAT must be "json" or "plain", not {fmt!r}')
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "core.logging.JsonFormatter"},
        },
        "filters": {
            "ratelimit": {"()": "core.logging.RateLimitFilter", "seconds": ratelimit_seconds},
            "celery_retry": {"()": "core.logging.DropCeleryRetryLine"},
            "unavailable_as_warning": {"()": "core.logging.ServiceUnavailableAsWarning"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["celery_retry", "ratelimit"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "elastic_transport": {"level": "WARNING"},
            "celery": {"level": "INFO"},
            # Logger filters run before the record reaches the handlers (and their rate limit).
            "django.request": {"filters": ["unavailable_as_warning"]},
        },
    }
