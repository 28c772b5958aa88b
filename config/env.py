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


def generated_secret_key(var_dir: Path) -> str:
    """A secret key generated once and kept in ``var_dir/secret_key`` (mode 600, never committed),
    for the embedded product and development: no fixed secret exists anywhere in the repository."""
    import secrets

    key_file = var_dir / "secret_key"
    if not key_file.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()
