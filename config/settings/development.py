"""Local development and the embedded one-command start.

The secret key is generated on first start and kept in ``var/secret_key`` (never committed), so no
fixed secret exists anywhere in the repository.
"""

import secrets

from config.env import env
from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _development_secret_key() -> str:
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or _development_secret_key()

# Development serves static files without a collectstatic step.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
