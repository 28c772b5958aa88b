"""Matching runs: started, executed, cancelled and recovered; incremental re-scoring.

- ``lifecycle``: starting and cancelling runs, one full run at a time, recovery by the run record
  (``runs_recover``) and the re-scoring outbox.
- ``lease``: who executes a run, renewed by a heartbeat, taken over once it expires.
- ``pipeline``: executing a full run and re-scoring a few needs, through one path to the plan
  and one failure handler.
- ``batches``: a full run's needs in batches that any matching worker claims and scores (the
  run's own worker and helpers), written as they are scored, invisible until the run's end.
- ``persistence``: writing a run's results in one transaction.
"""

from matching.services.runs.batches import match_batches_help
from matching.services.runs.lease import RunLeaseHeld
from matching.services.runs.lifecycle import (
    RESCORE_NEEDS_TASK,
    RESCORE_OFFERS_TASK,
    RUN_TASK,
    MatchRunAlreadyActive,
    MatchRunNotActive,
    match_run_cancel,
    match_run_start,
    rescore_requests_done,
    rescore_requests_drain,
    runs_recover,
)
from matching.services.runs.pipeline import match_rescore_needs, match_run_execute, needs_affected_by_offers

__all__ = [
    "RESCORE_NEEDS_TASK",
    "RESCORE_OFFERS_TASK",
    "RUN_TASK",
    "MatchRunAlreadyActive",
    "MatchRunNotActive",
    "RunLeaseHeld",
    "match_batches_help",
    "match_rescore_needs",
    "match_run_cancel",
    "match_run_execute",
    "match_run_start",
    "needs_affected_by_offers",
    "rescore_requests_done",
    "rescore_requests_drain",
    "runs_recover",
]
