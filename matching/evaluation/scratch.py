"""A scratch database for measuring and fitting: a command re-runs itself in a child process
pointed at a fresh SQLite file and search indices of its own, so a judged set never touches the
database the command was started with.

The child migrates, works, writes its report as JSON and exits; the folder is then deleted (and,
on Elasticsearch, the child drops its indices). ``TA_EVALUATION_SCRATCH`` marks the child: a
command refuses its internal ``--scratch`` mode without it.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

SCRATCH_FLAG = "TA_EVALUATION_SCRATCH"
BACKENDS = ("embedded", "elasticsearch")


def run_in_scratch(command: str, arguments: list[str], *, backend: str, encoder: str | None) -> dict:
    """Run ``manage.py COMMAND ARGUMENTS --scratch`` against a fresh database; its JSON report."""
    if backend == "elasticsearch" and not settings.ELASTICSEARCH_URL:
        raise CommandError("the elasticsearch backend needs ELASTICSEARCH_URL")
    with tempfile.TemporaryDirectory(prefix="ta-scratch-") as scratch:
        report_path = Path(scratch) / "report.json"
        env = {
            **os.environ,
            SCRATCH_FLAG: "1",
            "DJANGO_SETTINGS_MODULE": "config.settings.development",
            "DJANGO_DEBUG": "false",
            "DATABASE_URL": f"sqlite:///{scratch}/db.sqlite3",
            "TA_VAR_DIR": scratch,
            "SEARCH_EMBEDDED_PATH": f"{scratch}/search",
            "SEARCH_INDEX_PREFIX": f"ta-scratch-{secrets.token_hex(4)}",
            "ELASTICSEARCH_URL": settings.ELASTICSEARCH_URL if backend == "elasticsearch" else "",
            # Every write searchable before the run starts (Elasticsearch refreshes each second).
            "SEARCH_REFRESH_ON_WRITE": "true",
            # Tasks in-process and no incremental cascade: one full run is what is measured.
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "MATCHING_INCREMENTAL": "false",
            "MATCHING_ENCODER": encoder or settings.MATCHING_ENCODER,
        }
        argv = [sys.executable, str(Path(settings.BASE_DIR) / "manage.py"), command, *arguments]
        argv += ["--scratch", "--json", str(report_path)]
        completed = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        if completed.returncode != 0 or not report_path.exists():
            raise CommandError(f"{command} on {backend} failed:\n{completed.stderr[-4000:]}")
        return json.loads(report_path.read_text())


class ScratchDatabase:
    """Inside the child: migrate on entry; drop the search indices on exit."""

    def __enter__(self):
        if os.environ.get(SCRATCH_FLAG) != "1":
            raise CommandError("--scratch is internal: it loads a set into the current database")
        from kb.search import get_backend

        call_command("migrate", verbosity=0, interactive=False)
        self.backend = get_backend()
        self.backend.ensure_indices()
        return self

    def __exit__(self, *exc) -> None:
        if settings.SEARCH_BACKEND == "elasticsearch":
            self.backend.drop_all()
