"""The Celery application.

Configuration comes from Django settings (``CELERY_*``). Without a broker URL the project runs
embedded: tasks execute in-process (see ``config/settings/base.py``).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.development")

app = Celery("ta_exchange")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
