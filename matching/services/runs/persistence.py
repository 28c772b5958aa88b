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

from kb.models import EntryKind
from matching.engine import (
    MatchConfig,
    NeedResult,
    explain_kept,
    outcome_reason,
)
from matching.features import Idf, apply_corpus, load_features
from matching.models import (
    MatchBatch,
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    RunStatus,
)
from matching.plan import PlanResult
from matching.scoring import ScoredPair
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
    written: Idf | None = None,
) -> MatchRun:
    """``written``: a full run's batches already wrote the candidates up to ``stored_per_need``
    (with these corpus statistics); only the assigned pairs ranked below are added here, and the
    assigned ones flagged."""
    started = time.perf_counter()
    assigned = plan_result.assigned
    candidates: list[tuple] = []  # rows to insert, in CANDIDATE_COLUMNS order
    outcomes: list[NeedOutcome] = []
    covered = south_south = stored = 0
    kept_by_need = {
        need_id: [
            (rank, p)
            for rank, p in enumerate(result.pairs, start=1)
            if rank <= config.stored_per_need or (need_id, p.offer_id) in assigned
        ]
        for need_id, result in results.items()
    }
    if written is None:
        explain_kept(results, offers, {(n, p.offer_id) for n, kept in kept_by_need.items() for _r, p in kept}, config)
    else:
        _explain_assigned_below(results, offers, kept_by_need, config, written)
    reasons_seconds = time.perf_counter() - started
    assigned_per_need: dict[int, int] = {}
    for need_id, _offer_id in assigned:
        assigned_per_need[need_id] = assigned_per_need.get(need_id, 0) + 1
    for need_id, result in results.items():
        for rank, pair in kept_by_need[need_id]:
            is_assigned = (need_id, pair.offer_id) in assigned
            south_south += is_assigned and pair.south_south
            stored += 1
            if written is None or rank > config.stored_per_need:
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
        NeedOutcome.objects.filter(run_id=run_id).delete()
        if written is None:
            MatchCandidate.objects.filter(run_id=run_id).delete()
        else:
            _flag_assigned(
                run_id, [(n, o) for n, o in assigned if _rank_of(kept_by_need[n], o) <= config.stored_per_need]
            )
            # The plan has read them: the batches keep who wrote them and their timings only.
            MatchBatch.objects.filter(run_id=run_id).update(summary=None)
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
        run.candidates_count = stored
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


def _rank_of(kept: list[tuple[int, ScoredPair]], offer_id: int) -> int:
    return next(rank for rank, pair in kept if pair.offer_id == offer_id)


def _explain_assigned_below(
    results: dict[int, NeedResult],
    offers: dict,
    kept_by_need: dict[int, list[tuple[int, ScoredPair]]],
    config: MatchConfig,
    idf: Idf,
) -> None:
    """Reasons for the assigned pairs the batches did not store (ranked below ``stored_per_need``):
    the batches kept only what the plan needs of those needs, so their features are read again."""
    below = {
        (need_id, pair.offer_id)
        for need_id, kept in kept_by_need.items()
        for rank, pair in kept
        if rank > config.stored_per_need
    }
    if not below:
        return
    needs = load_features(EntryKind.NEED, sorted({n for n, _o in below}))
    apply_corpus(needs, idf)
    explain_kept(
        {n: NeedResult(need=needs[n], pairs=results[n].pairs) for n in needs if n in results}, offers, below, config
    )


def _flag_assigned(run_id: int, pairs: list[tuple[int, int]]) -> None:
    """Mark the plan's pairs among the candidates the batches wrote."""
    if not pairs:
        return
    table = MatchCandidate._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET assigned = true WHERE run_id = %s AND (need_id, offer_id) IN "
                "(SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                [run_id, [n for n, _o in pairs], [o for _n, o in pairs]],
            )
        return
    by_need: dict[int, list[int]] = {}
    for need_id, offer_id in pairs:
        by_need.setdefault(need_id, []).append(offer_id)
    for need_id, offer_ids in by_need.items():
        MatchCandidate.objects.filter(run_id=run_id, need_id=need_id, offer_id__in=offer_ids).update(assigned=True)


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
