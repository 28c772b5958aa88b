"""The one place environment variables are read (through django-environ).

Every variable is listed in ``.env.example``. A ``.env`` file at the project root is read if present;
real environment variables win over it.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

_dotenv = BASE_DIR / ".env"
if _dotenv.is_file():
    environ.Env.read_env(str(_dotenv), overwrite=False)
