"""Executing runs: a full run (every published need, batch by batch) and incremental
re-scoring (a few needs) share one path from scored needs to the plan and the write
(``_plan_and_persist``) and one failure handler (``_failed``).

Execution is safe to run twice: it holds the run's lease (``lease``) and writes nothing once the
lease is no longer its own.
"""

from __future__ import annotations

import logging
import time

from django.conf import settings
from django.utils import timezone

from core.tasks import enqueue
from kb.models import AssistanceNeed, EntryKind, EntryStatus, ExpertiseOffer
from kb.search import SearchBackend, SearchUnavailable, get_backend
from kb.vectors.matrix import published_matrix
from matching.engine import (
    MatchConfig,
    NeedResult,
    Timer,
    fetch_candidates,
    gc_paused,
    match_config,
    plan,
    score_needs,
)
from matching.features import (
    Features,
    Idf,
    apply_corpus,
    corpus_stats_compute,
    corpus_stats_latest,
    load_features,
)
from matching.models import (
    MatchCandidate,
    MatchRun,
    RunScope,
    RunStatus,
    RunTrigger,
)
from matching.services.proposals import (
    open_pairs_by_need,
    proposals_review,
    with_open_pairs,
)
from matching.services.runs.batches import (
    BATCHES_TASK,
    BatchScorer,
    RunInputs,
    batches_prepare,
    batches_progress,
    batches_results,
    batches_timings,
    run_inputs,
)
from matching.services.runs.lease import Heartbeat, claim, lease_duration, new_owner, still_wanted
from matching.services.runs.persistence import persist, retire_needs

logger = logging.getLogger(__name__)


@gc_paused()
def match_run_execute(*, run_id: int, backend: SearchBackend | None = None) -> MatchRun | None:
    """Execute a queued full run (the Celery task's body). Returns None if the run is no longer
    active; raises ``RunLeaseHeld`` if another worker is executing it."""
    owner = claim(run_id)
    if owner is None:
        return None
    with Heartbeat(run_id, owner):
        return _execute_full(run_id, owner, backend or get_backend())


def _execute_full(run_id: int, owner: str, backend: SearchBackend) -> MatchRun | None:
    """Fix the run's inputs, cut it into batches (``batches``), queue helpers for other workers,
    score batches here too until all are written, then plan and write once."""
    config = match_config()
    timer = Timer()
    analysed: dict[str, int] = {}  # texts whose stored terms were missing or stale
    try:
        with timer("offers"):
            offer_ids = list(
                ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).order_by("id").values_list("id", flat=True)
            )
            offers = load_features(EntryKind.OFFER, offer_ids, analysed)
            idf = corpus_stats_compute(offers)
            apply_corpus(offers, idf)
        if analysed.get("analysed"):
            logger.warning(
                "matching run %s analysed %s texts whose stored terms were missing or stale (stored now)",
                run_id,
                analysed["analysed"],
            )
        need_ids = list(
            AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).order_by("id").values_list("id", flat=True)
        )
        batches = batches_prepare(
            run_id, owner, need_ids=need_ids, offer_ids=offer_ids, idf=idf, config=config, backend=backend.name
        )
        if batches is None:  # cancelled or taken over meanwhile
            return MatchRun.objects.get(pk=run_id)
        for _helper in range(min(settings.MATCHING_RUN_HELPERS, batches - 1)):
            enqueue(BATCHES_TASK, run_id)
        with timer("offers"):
            inputs = run_inputs(offers, idf, config, backend)
        if not _batches_finish(run_id, owner, inputs, timer):
            return MatchRun.objects.get(pk=run_id)
        with timer("gather"):
            results = batches_results(run_id)
        # The batches' own timings, summed over the workers that wrote them (work, not wall time).
        timer.seconds.update(batches_timings(run_id))
        return _plan_and_persist(run_id, owner, results, offers, config, timer, full=True, written=idf)
    except Exception as exc:
        _failed(run_id, owner, exc, full=True)
        raise


def _batches_finish(run_id: int, owner: str, inputs: RunInputs, timer: Timer) -> bool:
    """Score batches on this worker, then wait for those other workers hold, claiming again any
    whose worker died; False if the run was cancelled or taken over meanwhile."""

    def progress() -> bool:
        done, _left = batches_progress(run_id)
        return still_wanted(run_id, owner, done)

    scorer = BatchScorer(run_id, owner, inputs, after_batch=progress)
    with timer("batches_wall"):
        while True:
            scorer.work()
            done, left = batches_progress(run_id)
            if not still_wanted(run_id, owner, done):
                logger.info("matching run %s stopped at %s needs", run_id, done)
                return False
            if not left:
                return True
            time.sleep(_WAIT_SECONDS)  # the last batches are on other workers


#: How often the run's worker looks again at batches other workers hold.
_WAIT_SECONDS = 0.2


def _plan_and_persist(
    run_id: int,
    owner: str,
    results: dict[int, NeedResult],
    offers: dict[int, Features],
    config: MatchConfig,
    timer: Timer,
    *,
    full: bool,
    written: Idf | None = None,
) -> MatchRun:
    """The one path from scored needs to the written run, for full runs and re-scoring alike:
    open proposals are reviewed and keep their capacity, the plan may only add pairs, and the
    results are written in one transaction (``persistence.persist``). ``written``: a full run's
    batches wrote the stored candidates already (scored with these statistics)."""
    with timer("plan"):
        capacities = {offer_id: f.capacity_left for offer_id, f in offers.items()}
        review = proposals_review(results=results, capacities=capacities, min_score=config.min_score)
        capacities = review.net(capacities)
        plan_result = plan(results, capacities, config, review.commitments)
    return persist(
        run_id,
        owner,
        results,
        offers,
        plan_result,
        config,
        capacities,
        review.supersede,
        full=full,
        timings=timer.seconds,
        written=written,
    )


def _failed(run_id: int, owner: str, exc: Exception, *, full: bool) -> None:
    """The one failure handler. Search being down is transient: a full run goes back to the
    queue (its task retries, ``runs_recover`` catches up); a re-scoring attempt, which has written
    nothing, leaves no row behind (its task retries). Anything else fails the run with the error,
    if the lease is still ours (a worker that lost it leaves the run to its new owner)."""
    if isinstance(exc, SearchUnavailable):
        if full:
            MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner).update(
                status=RunStatus.QUEUED, lease_expires_at=None, lease_owner="", error=str(exc)[:4000]
            )
        else:
            MatchRun.objects.filter(pk=run_id, lease_owner=owner).delete()
        return
    MatchRun.objects.filter(pk=run_id, lease_owner=owner).update(
        status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=timezone.now()
    )


# --- incremental re-scoring ----------------------------------------------------------------------


def match_rescore_needs(
    *, need_ids: list[int], trigger: str = RunTrigger.ENTRY_CHANGE, backend: SearchBackend | None = None
) -> MatchRun | None:
    """Re-score only these needs against the current offers (a need or offer changed)."""
    need_ids = sorted(set(need_ids))
    if not need_ids:
        return None
    backend = backend or get_backend()
    config = match_config()
    timer = Timer()
    published = set(
        AssistanceNeed.objects.filter(pk__in=need_ids, status=EntryStatus.PUBLISHED).values_list("id", flat=True)
    )
    gone = [n for n in need_ids if n not in published]
    if gone:
        retire_needs(gone)
    if not published:
        return None
    owner = new_owner()
    run = MatchRun.objects.create(
        scope=RunScope.INCREMENTAL,
        trigger=trigger,
        status=RunStatus.RUNNING,
        need_ids=sorted(published),
        started_at=timezone.now(),
        lease_owner=owner,
        lease_expires_at=timezone.now() + lease_duration(),
        attempts=1,
        needs_total=len(published),
        definition=config.definition,
        weights=config.as_dict(),
        search_backend=backend.name,
    )
    try:
        with Heartbeat(run.pk, owner):
            return _rescore(run, owner, published, backend, config, timer)
    except Exception as exc:
        _failed(run.pk, owner, exc, full=False)
        raise


def _rescore(
    run: MatchRun, owner: str, published: set[int], backend: SearchBackend, config: MatchConfig, timer: Timer
) -> MatchRun:
    with timer("needs"):
        idf = corpus_stats_latest()
        needs = load_features(EntryKind.NEED, sorted(published))
        apply_corpus(needs, idf)
    open_pairs = open_pairs_by_need(sorted(published))
    with timer("candidates"):
        # The published offers' vectors, kept by this worker between re-scorings (read again only
        # when an offer or a vector changed): the kNN is then exact and the same as a full run's.
        vectors = published_matrix(EntryKind.OFFER)
        candidates = fetch_candidates(
            backend, list(needs.values()), config.candidates_per_need, vectors if len(vectors.ids) else None
        )
        candidates = with_open_pairs(candidates, open_pairs)
    with timer("offers"):
        offer_ids = sorted({o for found in candidates.values() for o in found})
        offers = load_features(EntryKind.OFFER, offer_ids)
        apply_corpus(offers, idf)
    with timer("scoring"):
        keep = frozenset((n, o) for n, offer_ids in open_pairs.items() for o in offer_ids)
        results = score_needs(list(needs.values()), offers, candidates, config, keep)
    # Capacity held by open proposals of any need is not free for these ones.
    return _plan_and_persist(run.pk, owner, results, offers, config, timer, full=False)


def needs_affected_by_offers(
    *, offer_ids: list[int], backend: SearchBackend | None = None, limit: int = 200
) -> list[int]:
    """Needs whose candidates an offer change may alter: those listing the offer now, and those
    the offer's text would reach in the needs index."""
    from kb.search.query import TermQuery, VectorQuery
    from matching.features import query_terms

    affected = set(MatchCandidate.objects.current().filter(offer_id__in=offer_ids).values_list("need_id", flat=True))
    offers = load_features(EntryKind.OFFER, offer_ids)
    if offers:
        apply_corpus(offers, corpus_stats_latest())
        backend = backend or get_backend()
        queries = [
            TermQuery(
                key=o.id,
                groups=[frozenset({t}) for t, _w in query_terms(o)],
                weights=[w for _t, w in query_terms(o)],
                concepts=sorted(o.concepts),
                articles=sorted(str(a) for a in o.article_tags),
                exclude_country=o.country_id,
            )
            for o in offers.values()
        ]
        for found in backend.candidates("need", queries, 50).values():
            affected.update(need_id for need_id, _score in found)
        by_meaning = [
            VectorQuery(key=o.id, vector=o.embedding.tolist(), exclude_country=o.country_id)
            for o in offers.values()
            if o.embedding is not None
        ]
        if by_meaning:
            for found in backend.similar("need", by_meaning, 50).values():
                affected.update(need_id for need_id, _score in found)
    return sorted(affected)[:limit]
