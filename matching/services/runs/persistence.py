"""Writing a run's results: candidates (COPY on PostgreSQL), need outcomes and proposals, in
one transaction at the end.

Results become visible at once: the run's need outcomes become current (and with them its
candidates), the previous ones of the same needs stop being current. Replacing the run's rows in
the same transaction keeps a re-executed run idempotent.
"""

from __future__ import annotations

import logging
import time

import orjson
from django.db import connection, transaction
from django.utils import timezone

from matching.engine import (
    MatchConfig,
    NeedResult,
    explain_kept,
    outcome_reason,
)
from matching.models import (
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    RunStatus,
)
from matching.plan import PlanResult
from matching.services.proposals import (
    proposals_supersede_for_needs,
    proposals_sync,
)

logger = logging.getLogger(__name__)


def persist(
    run_id: int,
    owner: str,
    results: dict[int, NeedResult],
    offers: dict,
    plan_result: PlanResult,
    config: MatchConfig,
    capacities: dict[int, int],
    supersede: dict[int, str],
    *,
    full: bool,
    timings: dict,
) -> MatchRun:
    started = time.perf_counter()
    assigned = plan_result.assigned
    candidates: list[tuple] = []  # rows in CANDIDATE_COLUMNS order
    outcomes: list[NeedOutcome] = []
    covered = south_south = 0
    kept_by_need = {
        need_id: [
            (rank, p)
            for rank, p in enumerate(result.pairs, start=1)
            if rank <= config.stored_per_need or (need_id, p.offer_id) in assigned
        ]
        for need_id, result in results.items()
    }
    explain_kept(results, offers, {(n, p.offer_id) for n, kept in kept_by_need.items() for _rank, p in kept}, config)
    reasons_seconds = time.perf_counter() - started
    assigned_per_need: dict[int, int] = {}
    for need_id, _offer_id in assigned:
        assigned_per_need[need_id] = assigned_per_need.get(need_id, 0) + 1
    for need_id, result in results.items():
        for rank, pair in kept_by_need[need_id]:
            is_assigned = (need_id, pair.offer_id) in assigned
            south_south += is_assigned and pair.south_south
            candidates.append(
                (run_id, need_id, pair.offer_id, rank, pair.score, pair.components, pair.reasons)
                + (pair.south_south, is_assigned)
            )
        got = assigned_per_need.get(need_id, 0)
        covered += got > 0
        outcomes.append(
            NeedOutcome(
                run_id=run_id,
                need_id=need_id,
                providers_wanted=result.need.providers_wanted,
                providers_assigned=got,
                reason=outcome_reason(result, got, config, capacities),
                is_current=True,
            )
        )
    need_ids = list(results)
    written_from = time.perf_counter()
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().get(pk=run_id)
        if run.status != RunStatus.RUNNING or run.lease_owner != owner:
            return run  # cancelled, or another worker took over: it writes the results
        stale = NeedOutcome.objects.filter(is_current=True).exclude(run_id=run_id)
        (stale if full else stale.filter(need_id__in=need_ids)).update(is_current=False)
        # Replacing the run's rows in one transaction keeps a re-executed run idempotent.
        MatchCandidate.objects.filter(run_id=run_id).delete()
        NeedOutcome.objects.filter(run_id=run_id).delete()
        insert_candidates(candidates)
        NeedOutcome.objects.bulk_create(outcomes, batch_size=5000)
        proposals_sync(run=run, assigned=assigned, supersede=supersede)
        run.status = RunStatus.COMPLETED
        run.finished_at = timezone.now()
        if full and run.started_at:  # everything changed before it started has been scored
            from matching.models import RescoreRequest

            RescoreRequest.objects.filter(requested_at__lte=run.started_at).delete()
        if not full:
            run.needs_total = len(results)
        run.needs_done = run.needs_total
        run.candidates_count = len(candidates)
        run.assigned_count = len(assigned)
        run.needs_covered = covered
        run.south_south_assigned = south_south
        run.timings = {
            **timings,
            "plan_solver": round(plan_result.seconds, 4),
            "save": round(time.perf_counter() - started, 4),
            "save_reasons": round(reasons_seconds, 4),
            "save_write": round(time.perf_counter() - written_from, 4),
        }
        run.lease_expires_at = None
        run.lease_owner = ""
        run.error = ""
        run.save()
    return run


CANDIDATE_COLUMNS = (
    "run_id", "need_id", "offer_id", "rank", "score", "components", "reasons", "south_south", "assigned",
)  # fmt: skip


def insert_candidates(rows: list[tuple]) -> None:
    """Insert many candidates fast: PostgreSQL's COPY (a full run writes about 100,000 rows),
    ``bulk_create`` elsewhere."""
    if connection.vendor != "postgresql" or len(rows) < 1000:
        MatchCandidate.objects.bulk_create(
            [MatchCandidate(**dict(zip(CANDIDATE_COLUMNS, row, strict=True))) for row in rows], batch_size=5000
        )
        return
    table = MatchCandidate._meta.db_table
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table} ({', '.join(CANDIDATE_COLUMNS)}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row[:5] + (orjson.dumps(row[5]).decode(), orjson.dumps(row[6]).decode()) + row[7:])


def retire_needs(need_ids: list[int]) -> None:
    """Needs no longer published: their candidates stop being current, uncommitted proposals are
    superseded."""
    with transaction.atomic():
        NeedOutcome.objects.filter(need_id__in=need_ids, is_current=True).update(is_current=False)
        proposals_supersede_for_needs(need_ids=need_ids)
