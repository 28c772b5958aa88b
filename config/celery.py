"""The Celery application.

Configuration comes from Django settings (``CELERY_*``). Without a broker URL the project runs
embedded: tasks execute in-process (see ``config/settings/base.py``).
"""

import os

from celery import Celery, signals

from core.logging import log_task_retry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")

app = Celery("ta_exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def _worker_sockets(conf=None, **_kwargs) -> None:
    """Workers wait on the broker with blocking pops (one second at a time): their sockets must
    outlast that wait. The one-second timeouts of the settings are for publishing from requests."""
    if conf is not None:
        conf.broker_transport_options = {**conf.broker_transport_options, "socket_timeout": 10}


@signals.setup_logging.connect
def _django_logging(**_kwargs) -> None:
    """Workers and beat log through Django's ``LOGGING`` (JSON in production, the rate limit, the
    one-line retries) instead of Celery replacing the root handlers with its own format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


# One WARNING line per failed attempt that will be retried, no traceback (core.logging).
signals.task_retry.connect(log_task_retry, weak=False)
