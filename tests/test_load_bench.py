"""The load bench's own arithmetic and its server command (the bench itself prints numbers)."""

from __future__ import annotations

import pytest

from bench.load_bench import dockerfile_command, summarise


def test_the_server_is_the_dockerfiles_threaded_gunicorn():
    command = dockerfile_command()
    assert command[:2] == ["gunicorn", "config.wsgi:application"]
    assert command[command.index("--worker-class") + 1] == "gthread"
    assert "--bind" in command


def test_summary_counts_only_the_steady_window():
    # (start, seconds, status, ok): 1 s ramp at each end of a 12 s run leaves 10 s.
    records = [(100.5, 9.0, 200, True)]  # during the ramp: left out
    records += [(101 + i / 10, 0.010 * (1 + i % 10), 200, True) for i in range(80)]
    records += [(109 + i / 10, 0.001, 503, False) for i in range(10)]
    records += [(110 + i / 10, 2.0, 0, False) for i in range(5)]
    records += [(111.5, 0.5, 500, False)]  # after the window
    row = summarise({"started": 100.0, "records": records}, duration=12, margin=1)
    assert row["sent"] == 95
    assert row["achieved"] == pytest.approx(9.5)
    assert row["goodput"] == pytest.approx(8.0)
    assert (row["unavailable"], row["timeouts"], row["other"]) == (10, 5, 0)
    assert row["p50"] == pytest.approx(50.0)
    assert row["p99"] == pytest.approx(100.0)
