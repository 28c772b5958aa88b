"""A full run's batches: the needs cut into slices that any matching worker can claim and score.

The run's own worker prepares the batches (``batches_prepare``: the run's offers and corpus
statistics are fixed then, so that every batch scores with the same), queues helper tasks, and
scores batches itself; helpers on other workers claim the rest (``match_batches_help``). A batch is
claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` and a lease; scoring it writes its stored candidates
(reasons included) and the summary the plan reads, in one transaction that first checks the run is
still running and the batch still ours. Those candidates stay invisible until the run's need outcomes
become current in its final write (``persistence.persist``).

- A batch re-delivered, or scored twice because its lease expired meanwhile, converges: only the
  lease's owner writes, and the write replaces the batch's rows.
- A worker killed in a batch leaves its lease to expire; the run's worker, waiting for the last
  batches, claims it again. A batch that keeps killing its workers fails the run.
- Cancelling a run stops every worker before its next batch; ``match_run_cancel`` discards the
  rows already written.
- A run taken over by a new worker (its own died) is prepared again from scratch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from kb.models import EntryKind
from kb.search import SearchBackend, get_backend
from kb.vectors.matrix import VectorMatrix, published_matrix
from matching.bulk import OfferTable
from matching.engine import (
    MatchConfig,
    NeedResult,
    explain_kept,
    fetch_candidates,
    gc_paused,
    score_needs,
)
from matching.features import Features, Idf, apply_corpus, corpus_stats_get, load_features, need_for_plan
from matching.models import MatchBatch, MatchCandidate, MatchRun, RunStatus
from matching.scoring import COMPONENTS, ScoredPair
from matching.services.proposals import open_pairs_by_need, with_open_pairs
from matching.services.runs.lease import lease_duration, new_owner
from matching.services.runs.persistence import insert_candidates

logger = logging.getLogger(__name__)

#: The helper task (matching.tasks imports this package, so it is named, not imported).
BATCHES_TASK = "matching.tasks.run_batches_task"


@dataclass
class RunInputs:
    """What every batch of one run scores with, loaded once per worker."""

    offers: dict[int, Features]
    idf: Idf
    config: MatchConfig
    backend: SearchBackend
    table: OfferTable
    vectors: VectorMatrix
    # Offer sentences read for semantic reasons, kept from batch to batch.
    sentences: dict[int, tuple[list[str], np.ndarray]] = field(default_factory=dict)


def run_inputs(offers: dict[int, Features], idf: Idf, config: MatchConfig, backend: SearchBackend) -> RunInputs:
    # Read here, not on the search thread: that thread must not touch the database.
    return RunInputs(
        offers, idf, config, backend, OfferTable(offers, config.definition), published_matrix(EntryKind.OFFER)
    )


def batches_prepare(
    run_id: int, owner: str, *, need_ids: list[int], offer_ids: list[int], idf: Idf, config: MatchConfig, backend: str
) -> int | None:
    """Fix the run's inputs and cut its needs into batches of ``MATCHING_BATCH_SIZE``; the number
    of batches, or None if the run is no longer ours. Whatever a previous owner left (batches, rows)
    goes: a run taken over starts again."""
    size = settings.MATCHING_BATCH_SIZE
    with transaction.atomic():
        run = MatchRun.objects.select_for_update().filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner)
        if not run.exists():
            return None
        MatchBatch.objects.filter(run_id=run_id).delete()
        MatchCandidate.objects.filter(run_id=run_id).delete()
        batches = [
            MatchBatch(run_id=run_id, number=number, need_ids=need_ids[start : start + size], size=len(need_ids[start : start + size]))
            for number, start in enumerate(range(0, len(need_ids), size), start=1)
        ]  # fmt: skip
        MatchBatch.objects.bulk_create(batches)
        run.update(
            needs_total=len(need_ids),
            needs_done=0,
            offer_ids=offer_ids,
            corpus_stats_id=idf.stats_id,
            definition=config.definition,
            weights=config.as_dict(),
            search_backend=backend,
        )
    return len(batches)


class BatchFailing(Exception):
    """A batch was claimed MATCHING_RUN_MAX_ATTEMPTS times without being written."""


def batch_claim(run_id: int, owner: str) -> MatchBatch | None:
    """The next batch nobody holds (never claimed, or its worker's lease expired), leased to
    ``owner``; None if there is none or the run is no longer running."""
    now = timezone.now()
    with transaction.atomic():
        if not MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists():
            return None
        batch = (
            MatchBatch.objects.select_for_update(skip_locked=True)
            .filter(run_id=run_id)
            .filter(Q(status=RunStatus.QUEUED) | Q(status=RunStatus.RUNNING, lease_expires_at__lt=now))
            .order_by("number")
            .first()
        )
        if batch is None:
            return None
        if batch.attempts >= settings.MATCHING_RUN_MAX_ATTEMPTS:
            failing = batch
        else:
            failing = None
            if batch.attempts:
                logger.warning("matching run %s: batch %s taken over (its lease expired)", run_id, batch.number)
            batch.status, batch.lease_owner = RunStatus.RUNNING, owner
            batch.lease_expires_at, batch.attempts = now + lease_duration(), batch.attempts + 1
            batch.save(update_fields=["status", "lease_owner", "lease_expires_at", "attempts"])
    if failing is not None:
        message = _("Batch %(number)s of the run stopped %(n)s times without finishing (its worker was lost).") % {
            "number": failing.number,
            "n": failing.attempts,
        }
        MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).update(
            status=RunStatus.FAILED, finished_at=now, lease_expires_at=None, error=message
        )
        logger.error("matching run %s failed: batch %s claimed %s times", run_id, failing.number, failing.attempts)
        raise BatchFailing(message)
    return batch


def _run_still_running(run_id: int) -> bool:
    """Inside a transaction: the run is running, and stays so until the transaction ends
    (a share lock: cancelling or preparing the run again waits for this batch's write)."""
    if connection.vendor != "postgresql":
        return MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).exists()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {MatchRun._meta.db_table} WHERE id = %s AND status = %s FOR SHARE",
            [run_id, RunStatus.RUNNING],
        )
        return cursor.fetchone() is not None


def batch_write(
    batch: MatchBatch, owner: str, results: dict[int, NeedResult], stored_per_need: int, timings: dict
) -> bool:
    """Write a scored batch: its stored candidates (``results``' pairs up to ``stored_per_need``,
    reasons written) and its summary, replacing whatever an earlier attempt wrote. False (nothing
    written) if the run stopped or the batch is no longer ours."""
    rows = [
        (batch.run_id, need_id, p.offer_id, rank, p.score, p.components, p.reasons, p.south_south, False)
        for need_id, result in results.items()
        for rank, p in enumerate(result.pairs[:stored_per_need], start=1)
    ]
    summary = orjson.dumps([
        [
            need_id, r.need.providers_wanted, r.need.priority, r.need.south_south, r.had_candidates,
            r.had_only_non_south_south,
            [[p.offer_id, float(p.score), p.south_south, [p.components[c] for c in COMPONENTS]] for p in r.pairs],
        ]
        for need_id, r in results.items()
    ])  # fmt: skip
    started = time.perf_counter()
    with transaction.atomic():
        if not _run_still_running(batch.run_id):
            return False
        mine = MatchBatch.objects.select_for_update().filter(pk=batch.pk, status=RunStatus.RUNNING, lease_owner=owner)
        if not mine.exists():
            return False
        MatchCandidate.objects.filter(run_id=batch.run_id, need_id__in=batch.need_ids).delete()
        insert_candidates(rows)
        mine.update(
            status=RunStatus.COMPLETED,
            summary=summary,
            finished_at=timezone.now(),
            lease_expires_at=None,
            timings={**timings, "write": round(time.perf_counter() - started, 4)},
        )  # the lease's owner stays: who wrote the batch
    return True


def batches_progress(run_id: int) -> tuple[int, int]:
    """(needs in written batches, batches not written yet)."""
    done = MatchBatch.objects.filter(run_id=run_id, status=RunStatus.COMPLETED).aggregate(n=Sum("size"))["n"] or 0
    return done, MatchBatch.objects.filter(run_id=run_id).exclude(status=RunStatus.COMPLETED).count()


#: A claimed batch, its needs' features and its timings so far.
Claimed = tuple[MatchBatch, dict[int, Features], dict]


class BatchScorer:
    """Claims and scores one run's batches on this worker until none is left to claim.

    The search for the next batch runs on a background thread while this thread scores and
    writes the current one: the search engine (Tantivy's native threads, or Elasticsearch over
    HTTP) does not hold the GIL. Timings per batch: ``needs`` (loading features), ``candidates``
    (waiting for the search), ``scoring``, ``reasons`` and ``write``.
    """

    def __init__(self, run_id: int, owner: str, inputs: RunInputs, after_batch: Callable[[], bool] | None = None):
        self.run_id, self.owner, self.inputs = run_id, owner, inputs
        # Called after each batch written (progress, the run's lease); False stops the scorer.
        self.after_batch = after_batch or (lambda: True)

    def work(self) -> int:
        """Score batches until none can be claimed (or ``after_batch`` says stop); the number
        written. Batches claimed but not written (the search failed) are released at once."""
        written = 0
        held: list[MatchBatch] = []
        try:
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching-search") as searcher:
                current = self._claim(held)
                pending = searcher.submit(self._search, current[1]) if current else None
                while current is not None and pending is not None:
                    following = self._claim(held)
                    waited = time.perf_counter()
                    candidates = pending.result()
                    current[2]["candidates"] = round(time.perf_counter() - waited, 4)
                    pending = searcher.submit(self._search, following[1]) if following else None
                    written += self._score_and_write(current, candidates)
                    held.remove(current[0])
                    if not self.after_batch():
                        break
                    current = following
        finally:
            # Given back, not lost: the claim does not count towards MATCHING_RUN_MAX_ATTEMPTS.
            for batch in held:
                MatchBatch.objects.filter(pk=batch.pk, status=RunStatus.RUNNING, lease_owner=self.owner).update(
                    status=RunStatus.QUEUED, lease_owner="", lease_expires_at=None, attempts=F("attempts") - 1
                )
        return written

    def _claim(self, held: list[MatchBatch]) -> Claimed | None:
        batch = batch_claim(self.run_id, self.owner)
        if batch is None:
            return None
        held.append(batch)
        started = time.perf_counter()
        needs = load_features(EntryKind.NEED, batch.need_ids)
        apply_corpus(needs, self.inputs.idf)
        return batch, needs, {"needs": round(time.perf_counter() - started, 4)}

    def _search(self, needs: dict[int, Features]) -> dict[int, list[int]]:
        inputs = self.inputs
        return fetch_candidates(inputs.backend, list(needs.values()), inputs.config.candidates_per_need, inputs.vectors)

    def _score_and_write(self, claimed: Claimed, found: dict[int, list[int]]) -> int:
        batch, needs, timings = claimed
        inputs, config = self.inputs, self.inputs.config
        started = time.perf_counter()
        open_pairs = open_pairs_by_need(list(needs))
        candidates = with_open_pairs(found, open_pairs)
        keep = frozenset((n, o) for n, offer_ids in open_pairs.items() for o in offer_ids)
        results = score_needs(list(needs.values()), inputs.offers, candidates, config, keep, inputs.table)
        timings["scoring"] = round(time.perf_counter() - started, 4)
        started = time.perf_counter()
        stored = {(n, p.offer_id) for n, r in results.items() for p in r.pairs[: config.stored_per_need]}
        explain_kept(results, inputs.offers, stored, config, inputs.sentences)
        timings["reasons"] = round(time.perf_counter() - started, 4)
        return int(batch_write(batch, self.owner, results, config.stored_per_need, timings))


def batches_results(run_id: int) -> dict[int, NeedResult]:
    """Every written batch's needs as the plan sees them (by need id, in the run's order)."""
    results: dict[int, NeedResult] = {}
    summaries = MatchBatch.objects.filter(run_id=run_id, status=RunStatus.COMPLETED).order_by("number")
    for summary in summaries.values_list("summary", flat=True).iterator(chunk_size=20):
        if summary is None:
            continue
        for need_id, wanted, priority, south_south, had, only_other, pairs in orjson.loads(bytes(summary)):
            results[need_id] = NeedResult(
                need=need_for_plan(need_id, wanted, priority, south_south),
                pairs=[
                    ScoredPair(need_id, offer_id, score, dict(zip(COMPONENTS, values, strict=True)), [], ss)
                    for offer_id, score, ss, values in pairs
                ],
                had_candidates=had,
                had_only_non_south_south=only_other,
            )
    return results


def batches_timings(run_id: int) -> dict[str, float | int]:
    """The batches' timings summed (seconds of work across workers), and how many workers wrote them."""
    totals: dict[str, float | int] = {}
    owners = set()
    for owner, timings in MatchBatch.objects.filter(run_id=run_id).values_list("lease_owner", "timings"):
        owners.add(owner)
        for key, value in timings.items():
            totals[key] = round(float(totals.get(key, 0.0)) + value, 4)
    return {**totals, "batches": MatchBatch.objects.filter(run_id=run_id).count(), "workers": len(owners)}


@gc_paused()
def match_batches_help(*, run_id: int, backend: SearchBackend | None = None) -> int:
    """A helper's share of a full run (the helper task's body): claim and score the run's batches
    until none is left; the number written here. Does nothing if the run is over or no batch is
    left waiting (the offers are then not even loaded)."""
    run = MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING).first()
    if run is None or run.corpus_stats_id is None:
        return 0
    if not MatchBatch.objects.filter(run_id=run_id, status=RunStatus.QUEUED).exists():
        return 0
    idf = corpus_stats_get(run.corpus_stats_id)
    if idf is None:
        return 0
    config = MatchConfig.from_dict(run.weights, run.definition)
    offers = load_features(EntryKind.OFFER, list(run.offer_ids))
    apply_corpus(offers, idf)
    scorer = BatchScorer(run_id, new_owner(), run_inputs(offers, idf, config, backend or get_backend()))
    written = scorer.work()
    logger.info("matching run %s: this helper wrote %s batches", run_id, written)
    return written
