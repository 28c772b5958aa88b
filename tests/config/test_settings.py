"""Configuration: the embedded default, the production checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(settings_module: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "ELASTICSEARCH_URL", "CELERY_BROKER_URL"}
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": settings_module, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_with_production_settings(tmp_path):
    result = _run(
        "config.settings.production",
        {
            "DJANGO_SECRET_KEY": "x" * 64 + "-production-like-secret-for-the-check",
            "DJANGO_ALLOWED_HOSTS": "ta.example.org",
            "SITE_URL": "https://ta.example.org",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ELASTICSEARCH_URL": "http://127.0.0.1:9200",
        },
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _run("config.settings.production", {"DJANGO_ALLOWED_HOSTS": "x", "DATABASE_URL": "sqlite:///x"}, "check")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_embedded_default_needs_no_service(tmp_path):
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_TASK_ALWAYS_EAGER, s.SEARCH_BACKEND)"
    )
    result = _run("config.settings.development", {"TA_VAR_DIR": str(tmp_path)}, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["django.db.backends.sqlite3", "True", "embedded"]
    assert (tmp_path / "secret_key").exists()


def test_services_switch_on_with_their_variables(tmp_path):
    code = "from django.conf import settings as s;print(s.CELERY_TASK_ALWAYS_EAGER, s.SEARCH_BACKEND)"
    result = _run(
        "config.settings.development",
        {
            "TA_VAR_DIR": str(tmp_path),
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "ELASTICSEARCH_URL": "http://127.0.0.1:9200",
        },
        "shell",
        "-c",
        code,
    )
    assert result.stdout.split()[-2:] == ["False", "elasticsearch"]
