"""Handing tasks to the broker from the request path: never hang, never fail the caller.

Every after-commit hand-over (indexing, vectors, re-scoring, e-mails, runs) goes through
``publish``. The broker's sockets time out after about a second (settings), and once a publish
has failed the breaker stays open for ``BROKER_BREAKER_SECONDS``: later publishes in this process
are skipped at once instead of each waiting for the timeout. Skipping is safe because each kind of
work has a durable record that a periodic job drains (the search outbox, stale vectors, queued
runs, and the nightly full run for re-scoring). Failures are logged once per opening, without a
traceback.
"""

from __future__ import annotations

import logging

from django.conf import settings

from core.breaker import CircuitBreaker

logger = logging.getLogger(__name__)

breaker = CircuitBreaker("broker", failures=1, reset_seconds=lambda: settings.BROKER_BREAKER_SECONDS)


def broker_available() -> bool:
    return not breaker.is_open


def publish(task, *args, what: str = "", **options) -> bool:
    """``task.apply_async(args, **options)``; False if the broker is unavailable (nothing raised)."""
    eager = task.app.conf.task_always_eager
    if not eager and not breaker.allow():
        return False
    try:
        task.apply_async(args=args, **options)
    except Exception as exc:
        if eager:  # the task itself failed in this process; its own retries have logged it
            logger.warning("%s failed in process: %s: %s", what or task.name, type(exc).__name__, exc)
        else:
            breaker.failure(f"{type(exc).__name__}: {exc}; not queued: {what or task.name}")
        return False
    if not eager:
        breaker.success()
    return True


def breaker_reset() -> None:
    """Close the breaker (tests, or after an operator fixed the broker)."""
    breaker.reset()
