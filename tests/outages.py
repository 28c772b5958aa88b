"""Real outages for tests: a broker that refuses connections, one that hangs, no mocks.

"Refused" is a port nobody listens on; "hung" is a listening socket that accepts connections and
never answers, which is what a paused Redis or Elasticsearch looks like to a client.
"""

from __future__ import annotations

import contextlib
import socket

from config.celery import app


def refused_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again on return: connecting is refused


def refused_redis_url() -> str:
    return f"redis://127.0.0.1:{refused_port()}/0"


@contextlib.contextmanager
def hung_url(scheme: str = "redis"):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)  # the kernel completes handshakes; nobody reads or answers
    try:
        yield f"{scheme}://127.0.0.1:{server.getsockname()[1]}" + ("/0" if scheme == "redis" else "")
    finally:
        server.close()


@contextlib.contextmanager
def real_broker(url: str):
    """Point this process's Celery app at ``url`` and stop running tasks eagerly.

    The app reads Django settings with the CELERY_ namespace, so the namespaced keys are the
    ones to change.
    """
    previous = (app.conf.CELERY_BROKER_URL, app.conf.CELERY_TASK_ALWAYS_EAGER)
    app.conf.CELERY_BROKER_URL = url
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    _drop_cached_connections()
    try:
        yield
    finally:
        app.conf.CELERY_BROKER_URL, app.conf.CELERY_TASK_ALWAYS_EAGER = previous
        _drop_cached_connections()


def _drop_cached_connections() -> None:
    # Connection and producer pools are created on first use and keep the old broker URL.
    app._pool = None
    app.amqp._producer_pool = None
