"""The production shape's processes (docker-compose.yml): matching has a worker of its own."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPOSE = Path(__file__).resolve().parents[2] / "docker-compose.yml"


def _option(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_full_runs_cannot_starve_indexing_and_e_mails():
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    default, matching = services["worker"]["command"], services["matching-worker"]["command"]
    assert _option(default, "--queues").split(",") == ["celery"]
    assert _option(matching, "--queues").split(",") == ["matching"]
    assert _option(matching, "--concurrency") == "1"
    for command in (default, matching):
        assert int(_option(command, "--max-tasks-per-child")) > 0
    assert "beat" in services["beat"]["command"]
