"""The Celery application.

Configuration comes from Django settings (``CELERY_*``). Without a broker URL the project runs
embedded: tasks execute in-process (see ``config/settings/base.py``).
"""

import os

from celery import Celery, signals

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
