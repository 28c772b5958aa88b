"""A full run's batches (matching.services.runs.batches), in one process: claimed by whichever
worker gets there first, written once, converging when written twice, discarded on cancel.

The same with real workers, real kills and a real broker: tests/matching/test_worker.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from matching.engine import match_config
from matching.features import apply_corpus, corpus_stats_compute, load_features
from matching.models import MatchBatch, MatchCandidate, MatchRun, NeedOutcome, RunStatus, RunTrigger
from matching.services.runs import lease, match_run_cancel, match_run_execute, match_run_start
from matching.services.runs.batches import (
    BatchFailing,
    BatchScorer,
    batch_claim,
    batches_prepare,
    batches_progress,
    match_batches_help,
    run_inputs,
)

pytestmark = pytest.mark.django_db


def _rows(run) -> list[tuple]:
    return sorted(
        MatchCandidate.objects.filter(run=run).values_list(
            "need_id", "offer_id", "rank", "score", "components", "reasons", "south_south", "assigned"
        )
    )


def _full_run(backend):
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    return match_run_execute(run_id=run.pk, backend=backend)


def _prepared(backend, *, batch_size: int = 1) -> tuple[MatchRun, str]:
    """A run claimed by "its worker" and cut into batches, as ``match_run_execute`` does first."""
    from django.conf import settings

    from kb.models import AssistanceNeed, EntryKind, EntryStatus, ExpertiseOffer

    settings.MATCHING_BATCH_SIZE = batch_size
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    owner = lease.claim(run.pk)
    offer_ids = list(
        ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).order_by("id").values_list("id", flat=True)
    )
    offers = load_features(EntryKind.OFFER, offer_ids)
    idf = corpus_stats_compute(offers)
    need_ids = list(
        AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).order_by("id").values_list("id", flat=True)
    )
    batches_prepare(
        run.pk, owner, need_ids=need_ids, offer_ids=offer_ids, idf=idf, config=match_config(), backend=backend.name
    )
    return run, owner


def _scorer(run, owner, backend) -> BatchScorer:
    from kb.models import EntryKind

    run.refresh_from_db()
    from matching.features import corpus_stats_get

    idf = corpus_stats_get(run.corpus_stats_id)
    offers = load_features(EntryKind.OFFER, run.offer_ids)
    apply_corpus(offers, idf)
    return BatchScorer(run.pk, owner, run_inputs(offers, idf, match_config(), backend))


def test_a_run_helped_by_another_worker_writes_the_rows_of_a_run_alone(search_backend, small_kb, settings):
    settings.MATCHING_BATCH_SIZE = 1  # four batches
    alone = _full_run(search_backend)
    assert alone.timings["batches"] == 4
    assert alone.timings["workers"] == 1
    settings.MATCHING_RUN_HELPERS = 1  # eager: the helper task scores every batch before the run's worker looks
    helped = _full_run(search_backend)
    assert helped.status == RunStatus.COMPLETED
    assert _rows(helped) == _rows(alone) != []
    assert set(MatchBatch.objects.filter(run=helped).values_list("status", flat=True)) == {RunStatus.COMPLETED}
    assert not MatchBatch.objects.filter(run=helped, summary__isnull=False).exists()  # read by the plan, dropped
    # Written by the helper, not by the run's worker: the owner of each batch is not the run's.
    writers = set(MatchBatch.objects.filter(run=helped).values_list("lease_owner", flat=True))
    assert len(writers) == 1
    assert helped.timings["workers"] == 1
    assert helped.candidates_count == alone.candidates_count == MatchCandidate.objects.filter(run=helped).count()
    assert (helped.assigned_count, helped.needs_covered, helped.south_south_assigned) == (
        alone.assigned_count,
        alone.needs_covered,
        alone.south_south_assigned,
    )


def test_assigned_pairs_below_the_stored_rank_are_added_with_their_reasons(search_backend, small_kb, settings):
    from kb.models import EntryStatus
    from kb.search.sync import search_outbox_drain

    offers, _needs = small_kb
    offers["O-CIV"].status = EntryStatus.ARCHIVED  # two needs then rank the Rwandan offer (capacity 1) first
    offers["O-CIV"].save()
    search_outbox_drain(backend=search_backend)
    settings.MATCHING_DEFAULTS = {**settings.MATCHING_DEFAULTS, "stored_per_need": 1}
    settings.MATCHING_BATCH_SIZE = 1
    run = _full_run(search_backend)
    below = MatchCandidate.objects.filter(run=run, rank__gt=1)
    assert below.exists(), "the small knowledge base assigns some need a pair it ranks second or lower"
    assert all(c.assigned and c.reasons for c in below)
    assert all(c.reasons for c in MatchCandidate.objects.filter(run=run))
    assigned = MatchCandidate.objects.filter(run=run, assigned=True).count()
    assert assigned == run.assigned_count
    assert run.candidates_count == MatchCandidate.objects.filter(run=run).count()


def test_batches_are_claimed_once_each_and_a_dead_workers_batch_again(search_backend, small_kb):
    run, owner = _prepared(search_backend)
    first = batch_claim(run.pk, "worker-a")
    second = batch_claim(run.pk, "worker-b")
    assert (first.number, second.number) == (1, 2)
    assert batch_claim(run.pk, "worker-c").number == 3
    assert batch_claim(run.pk, "worker-c").number == 4
    assert batch_claim(run.pk, "worker-c") is None  # all held
    MatchBatch.objects.filter(pk=first.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    again = batch_claim(run.pk, "worker-d")  # worker-a died: its lease expired
    assert (again.pk, again.attempts, again.lease_owner) == (first.pk, 2, "worker-d")


def test_a_batch_scored_twice_is_written_once_by_its_current_owner(search_backend, small_kb):
    clean = _rows(_full_run(search_backend))
    MatchRun.objects.all().delete()
    run, owner = _prepared(search_backend)
    slow = _scorer(run, "slow-worker", search_backend)
    claimed = slow._claim([])
    MatchBatch.objects.filter(pk=claimed[0].pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    fast = _scorer(run, "fast-worker", search_backend)
    assert fast.work() == 4  # takes the expired batch over, and the other three
    rows = _rows(run)
    # The slow worker wakes up: its batch is no longer its own, nothing is written.
    assert slow._score_and_write(claimed, slow._search(claimed[1])) == 0
    assert _rows(run) == rows
    # A batch delivered again finds nothing to claim.
    assert fast.work() == 0
    assert batches_progress(run.pk) == (4, 0)
    # What the batches wrote is what a clean run stores (the plan flags the assigned ones later).
    assert [row[:7] for row in rows] == [row[:7] for row in clean]


def test_a_taken_over_run_starts_its_batches_again_with_the_rows_of_a_clean_run(search_backend, small_kb):
    clean = _rows(_full_run(search_backend))
    MatchRun.objects.all().delete()
    run, owner = _prepared(search_backend)
    assert _scorer(run, "first-worker", search_backend).work() == 4
    MatchRun.objects.filter(pk=run.pk).update(lease_expires_at=timezone.now() - timedelta(seconds=1))
    done = match_run_execute(run_id=run.pk, backend=search_backend)  # its worker died before planning
    assert (done.status, done.attempts) == (RunStatus.COMPLETED, 2)
    assert _rows(done) == clean
    assert not lease.still_wanted(run.pk, owner, 1)


def test_a_helper_does_nothing_once_the_run_is_over_or_fully_claimed(search_backend, small_kb):
    run, owner = _prepared(search_backend)
    while batch_claim(run.pk, "other"):
        pass
    assert match_batches_help(run_id=run.pk, backend=search_backend) == 0  # nothing left waiting
    MatchRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED)
    assert match_batches_help(run_id=run.pk, backend=search_backend) == 0


def test_cancelling_discards_the_batches_written_so_far(search_backend, small_kb):
    run, owner = _prepared(search_backend)
    scorer = _scorer(run, "a-worker", search_backend)
    scorer.after_batch = lambda: False  # stop after one batch
    assert scorer.work() == 1
    assert MatchCandidate.objects.filter(run=run).exists()
    assert not MatchCandidate.objects.current().filter(run=run).exists()  # never visible
    match_run_cancel(run=run)
    assert not MatchCandidate.objects.filter(run=run).exists()
    assert not MatchBatch.objects.filter(run=run).exists()
    assert not NeedOutcome.objects.filter(run=run).exists()
    assert scorer.work() == 0  # a worker still holding on claims nothing more


def test_a_stopped_scorer_releases_the_batch_it_had_claimed_ahead(search_backend, small_kb):
    run, owner = _prepared(search_backend)
    scorer = _scorer(run, "a-worker", search_backend)
    scorer.after_batch = lambda: False
    assert scorer.work() == 1
    # The second batch was claimed (its search ran ahead) but not scored: it is free again.
    # Given back, the claim does not count as a lost worker's.
    assert list(
        MatchBatch.objects.filter(run=run).order_by("number").values_list("status", "lease_owner", "attempts")
    ) == [
        (RunStatus.COMPLETED, "a-worker", 1),
        (RunStatus.QUEUED, "", 0),
        (RunStatus.QUEUED, "", 0),
        (RunStatus.QUEUED, "", 0),
    ]


def test_a_batch_that_keeps_killing_its_workers_fails_the_run(search_backend, small_kb, settings):
    run, owner = _prepared(search_backend)
    MatchBatch.objects.filter(run=run, number=1).update(attempts=settings.MATCHING_RUN_MAX_ATTEMPTS)
    with pytest.raises(BatchFailing):
        batch_claim(run.pk, "a-worker")
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    assert "Batch 1" in run.error


def test_a_search_outage_gives_the_claimed_batches_back(search_backend, small_kb, monkeypatch):
    from kb.search import SearchUnavailable

    run, owner = _prepared(search_backend)
    scorer = _scorer(run, "a-worker", search_backend)

    def down(needs):
        raise SearchUnavailable("search is down")

    monkeypatch.setattr(scorer, "_search", down)
    with pytest.raises(SearchUnavailable):
        scorer.work()
    assert set(MatchBatch.objects.filter(run=run).values_list("status", "lease_owner", "attempts")) == {
        (RunStatus.QUEUED, "", 0)
    }
    assert not MatchCandidate.objects.filter(run=run).exists()
