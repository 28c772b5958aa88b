"""Local development (``bin/dev``: Django's runserver with auto-reload and debug pages).

The secret key is generated on first start and kept in ``var/secret_key`` (never committed), so no
fixed secret exists anywhere in the repository.
"""

from config.env import env, generated_secret_key
from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR

DEBUG = env.bool("DJANGO_DEBUG", default=True)

SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or generated_secret_key(VAR_DIR)

# Development serves static files without a collectstatic step.
STORAGES = {
    **STORAGES,  # noqa: F405  (attachments as base says)
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
