"""Start-up checks: the matching run's lease, time limits and the broker's visibility timeout."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from matching.checks import matching_time_limits
from matching.tasks import rematch_needs_task, run_batches_task, run_matching_task


def test_defaults_are_in_order():
    assert matching_time_limits() == []


@pytest.mark.parametrize(
    "overrides",
    [
        {"MATCHING_RUN_LEASE_SECONDS": 4000},  # a lease longer than the hard limit
        {"MATCHING_RUN_SOFT_TIME_LIMIT": 3600, "MATCHING_RUN_TIME_LIMIT": 3600},
        {"MATCHING_RUN_TIME_LIMIT": 5 * 3600},  # the broker would redeliver a live run first
    ],
)
def test_limits_out_of_order_stop_start_up(settings, overrides):
    for name, value in overrides.items():
        setattr(settings, name, value)
    [error] = matching_time_limits()
    assert error.id == "matching.E001"
    assert "visibility_timeout" in error.msg
    with pytest.raises(SystemCheckError, match="matching.E001"):
        call_command("check")


def test_rescore_limits_checked(settings):
    settings.MATCHING_RESCORE_SOFT_TIME_LIMIT = 400
    assert [e.id for e in matching_time_limits()] == ["matching.E002"]


def test_tasks_carry_the_limits(settings):
    assert (run_matching_task.soft_time_limit, run_matching_task.time_limit) == (
        settings.MATCHING_RUN_SOFT_TIME_LIMIT,
        settings.MATCHING_RUN_TIME_LIMIT,
    )
    assert rematch_needs_task.time_limit == settings.MATCHING_RESCORE_TIME_LIMIT
    # A helper scoring a full run's batches is held to the run's limits (its batches' leases are
    # the run's lease, checked shorter than them at start-up).
    assert (run_batches_task.soft_time_limit, run_batches_task.time_limit) == (
        settings.MATCHING_RUN_SOFT_TIME_LIMIT,
        settings.MATCHING_RUN_TIME_LIMIT,
    )
    assert run_batches_task.acks_late
