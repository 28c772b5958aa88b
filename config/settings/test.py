"""Settings for the test suite.

Tests use the real services the test command starts (``DATABASE_URL``, ``REDIS_URL``,
``ELASTICSEARCH_URL``); Celery runs eagerly unless a test starts a real worker. Index names carry a
per-run prefix so tests never touch another environment's indices.
"""

import secrets

from config.env import env
from config.settings.base import *  # noqa: F403

SECRET_KEY = secrets.token_urlsafe(50)
DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Eager unless a test starts a real worker (which runs with TA_TEST_CELERY_EAGER=false).
CELERY_TASK_ALWAYS_EAGER = env.bool("TA_TEST_CELERY_EAGER", default=True)
# A task that fails in a test fails the test (core.tasks catches only broker errors).
CELERY_TASK_EAGER_PROPAGATES = True
# A full run's helper tasks: none when eager (the run's worker scores every batch), three on a
# real worker (tests/matching/test_worker.py); tests of helpers set it.
MATCHING_RUN_HELPERS = env.int("MATCHING_RUN_HELPERS", default=0 if CELERY_TASK_ALWAYS_EAGER else 3)
SEARCH_INDEX_PREFIX = env("SEARCH_INDEX_PREFIX", default=f"ta-test-{secrets.token_hex(4)}")
SEARCH_REFRESH_ON_WRITE = True
# Tests of incremental matching switch it on; elsewhere an entry change should not cascade.
MATCHING_INCREMENTAL = env.bool("MATCHING_INCREMENTAL", default=False)
STORAGES = {
    **STORAGES,  # noqa: F405  (attachments as base says; a folder per test in tests/conftest.py)
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
REST_FRAMEWORK = {**REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"writes": "10000/min"}}  # noqa: F405
