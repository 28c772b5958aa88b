"""Handing tasks to the broker from the request path: never hang, never fail the caller.

Every after-commit hand-over (indexing, vectors, re-scoring, e-mails, runs) goes through
``publish``. The broker's sockets time out after about a second (settings), and once a publish has
failed the breaker stays open for ``BROKER_BREAKER_SECONDS``: later publishes in this process are
skipped at once instead of each waiting for the timeout. Skipping is safe because each kind of
work has a durable record the periodic jobs drain (the search outbox, stale vectors, re-scoring
requests, unsent notifications, queued runs). Failures are logged once per opening, without a
traceback.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_open_until = 0.0
_skipped = 0


def broker_available() -> bool:
    return time.monotonic() >= _open_until


def publish(task, *args, what: str = "", **options) -> bool:
    """``task.apply_async(args, **options)``; False if the broker is unavailable (nothing raised)."""
    global _open_until, _skipped
    eager = getattr(task.app.conf, "task_always_eager", False)
    if not eager and not broker_available():
        with _lock:
            _skipped += 1
        return False
    try:
        task.apply_async(args=args, **options)
    except Exception as exc:
        if eager:  # the task itself failed in this process: its own retry logic has logged it
            logger.warning("%s failed in process: %s: %s", what or task.name, type(exc).__name__, exc)
            return False
        with _lock:
            was_closed = broker_available()
            _open_until = time.monotonic() + settings.BROKER_BREAKER_SECONDS
        if was_closed:
            logger.warning(
                "broker unavailable (%s: %s); not queueing %s and similar work for %s s, periodic jobs catch up",
                type(exc).__name__, exc, what or task.name, settings.BROKER_BREAKER_SECONDS,
            )  # fmt: skip
        return False
    with _lock:
        if _skipped:
            logger.info("broker available again; %s hand-overs were skipped meanwhile", _skipped)
            _skipped = 0
    return True


def breaker_reset() -> None:
    """Close the breaker (tests, or after an operator fixed the broker)."""
    global _open_until, _skipped
    with _lock:
        _open_until, _skipped = 0.0, 0
