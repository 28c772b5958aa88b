"""The product as ``bin/start`` serves it: gunicorn, DEBUG off, static files through whitenoise.

Embedded services (SQLite, in-process tasks, the embedded search engine) unless their variables
are set, exactly like development; what differs is that a visitor sees the product, never a debug
page: styled 403/404/500 pages, hashed and compressed static files (``collectstatic`` runs at
start), a secret generated into ``var/secret_key``. ``SITE_URL`` follows the address served
(``TA_HOST``/``TA_PORT``, see ``base``) so invitation links point where the app really answers.
"""

from config.env import env, generated_secret_key
from config.settings.base import *  # noqa: F403
from config.settings.base import VAR_DIR

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="") or generated_secret_key(VAR_DIR)
