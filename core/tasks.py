"""Queueing Celery tasks from services, done one way.

Services never call ``.delay()`` themselves. ``enqueue_on_commit(task, *args)`` sends the task
once the transaction commits (a rolled-back write queues nothing); ``enqueue`` sends it now, for
code already running after commit. Only the broker being unreachable is caught — logged, and the
work is finished by the caller's catch-up path (the search outbox and its reconcile, the vectors
reconcile, re-scoring requests, unsent notifications, queued runs). Anything else, such as a bug in
a task run eagerly with ``CELERY_TASK_EAGER_PROPAGATES`` (the test suite), propagates like any
other bug.

A task is given as the task object or by its registered name (``"matching.tasks.run_matching_task"``):
services that start work in their own app's tasks module name it, because that module imports the
services (the task is the outer layer), so importing it back would make a cycle. ``registered()``
resolves a name through Celery's registry and names the task in the error if it does not exist.

Sending never hangs a request: the broker's sockets time out after about a second (settings), and
after a failure a breaker skips sending for ``BROKER_BREAKER_SECONDS`` — later calls in this
process return False at once instead of each waiting for the timeout. Failures are logged once per
opening of the breaker, without a traceback.
"""

from __future__ import annotations

from typing import Any

import redis.exceptions
from celery import Task, current_app
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError

from core.breaker import CircuitBreaker

#: What sending a task raises when the broker cannot take it: kombu re-raises most transport
#: connection errors as its ``OperationalError``; with publishing retries off, Redis's own errors
#: (refused, timed out) and socket errors can surface as they are.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)

breaker = CircuitBreaker("broker", failures=1, reset_seconds=lambda: settings.BROKER_BREAKER_SECONDS)


def broker_available() -> bool:
    return not breaker.is_open


def registered(name: str) -> Task:
    """The task registered as ``name``, importing the apps' task modules once if needed."""
    tasks = current_app.tasks
    if name not in tasks:
        current_app.loader.import_default_modules()
        tasks = current_app.tasks
    try:
        return tasks[name]
    except KeyError:
        raise LookupError(f"no Celery task is registered as {name!r}") from None


def enqueue(task: Task | str, *args: Any) -> bool:
    """Send ``task(*args)``; False (logged) when the broker is unreachable."""
    if isinstance(task, str):
        task = registered(task)
    eager = task.app.conf.task_always_eager
    if not eager and not breaker.allow():
        return False
    try:
        task.delay(*args)
    except BROKER_ERRORS as exc:
        shown = [arg[:20] if isinstance(arg, list) else arg for arg in args]
        breaker.failure(f"{type(exc).__name__}: {exc}; not queued: {task.name}{tuple(shown)}")
        return False
    if not eager:
        breaker.success()
    return True


def enqueue_on_commit(task: Task | str, *args: Any) -> None:
    """Send ``task(*args)`` after the current transaction commits (now, outside one)."""
    transaction.on_commit(lambda: enqueue(task, *args))


def breaker_reset() -> None:
    """Close the broker's breaker (tests, or after an operator fixed the broker)."""
    breaker.reset()
