"""Executing runs: a full run (every published need, batch by batch) and incremental
re-scoring (a few needs) share one path from scored needs to the plan and the write
(``_plan_and_persist``) and one failure handler (``_failed``).

Execution is safe to run twice: it holds the run's lease (``lease``) and writes nothing once the
lease is no longer its own.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.utils import timezone

from kb.models import AssistanceNeed, EntryKind, EntryStatus, ExpertiseOffer
from kb.search import SearchBackend, SearchUnavailable, get_backend
from kb.vectors.matrix import published_matrix
from matching.bulk import OfferTable
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
    config = match_config()
    timer = Timer()
    analysed: dict[str, int] = {}  # texts whose stored terms were missing or stale
    try:
        with timer("offers"):
            offer_ids = list(ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).values_list("id", flat=True))
            offers = load_features(EntryKind.OFFER, offer_ids, analysed)
            idf = corpus_stats_compute(offers)
            apply_corpus(offers, idf)
        need_ids = list(
            AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).order_by("id").values_list("id", flat=True)
        )
        MatchRun.objects.filter(pk=run_id).update(
            needs_total=len(need_ids),
            definition=config.definition,
            weights=config.as_dict(),
            search_backend=backend.name,
        )
        open_pairs = open_pairs_by_need(None)
        results = _score_batches(run_id, owner, need_ids, offers, idf, backend, config, timer, open_pairs, analysed)
        if analysed.get("analysed"):
            logger.warning(
                "matching run %s analysed %s texts whose stored terms were missing or stale (stored now)",
                run_id,
                analysed["analysed"],
            )
        if results is None:  # cancelled or taken over meanwhile
            return MatchRun.objects.get(pk=run_id)
        return _plan_and_persist(run_id, owner, results, offers, config, timer, full=True)
    except Exception as exc:
        _failed(run_id, owner, exc, full=True)
        raise


def _plan_and_persist(
    run_id: int,
    owner: str,
    results: dict[int, NeedResult],
    offers: dict[int, Features],
    config: MatchConfig,
    timer: Timer,
    *,
    full: bool,
) -> MatchRun:
    """The one path from scored needs to the written run, for full runs and re-scoring alike:
    open proposals are reviewed and keep their capacity, the plan may only add pairs, and the
    results are written in one transaction (``persistence.persist``)."""
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


def _score_batches(
    run_id: int,
    owner: str,
    need_ids: list[int],
    offers: dict[int, Features],
    idf: Idf,
    backend: SearchBackend,
    config: MatchConfig,
    timer: Timer,
    open_pairs: dict[int, list[int]],
    analysed: dict[str, int],
) -> dict[int, NeedResult] | None:
    """Score the needs batch by batch; None if the run was cancelled meanwhile.

    The search for one batch runs on a background thread while this thread scores the previous
    batch and loads the next one: the search engine (Tantivy's native threads, or Elasticsearch
    over HTTP) does not hold the GIL, so searching and Python scoring overlap. The "candidates"
    timing is the time spent waiting for a search, not the search's own duration.
    """
    batch = settings.MATCHING_BATCH_SIZE
    starts = list(range(0, len(need_ids), batch))

    def features_of(start: int) -> dict[int, Features]:
        with timer("needs"):
            needs = load_features(EntryKind.NEED, need_ids[start : start + batch], analysed)
            apply_corpus(needs, idf)
        return needs

    def search(needs: dict[int, Features]) -> dict[int, list[int]]:
        found = fetch_candidates(backend, list(needs.values()), config.candidates_per_need, vectors)
        return with_open_pairs(found, {n: open_pairs[n] for n in needs if n in open_pairs})

    keep = frozenset((n, o) for n, offer_ids in open_pairs.items() for o in offer_ids)

    results: dict[int, NeedResult] = {}
    if not starts:
        return results
    with timer("offers"):
        table = OfferTable(offers, config.definition)
        # Read here: the search thread must not touch the database.
        vectors = published_matrix(EntryKind.OFFER)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="matching-search") as searcher:
        needs = features_of(starts[0])
        pending = searcher.submit(search, needs)
        for position, start in enumerate(starts):
            following = features_of(starts[position + 1]) if position + 1 < len(starts) else None
            with timer("candidates"):
                candidates = pending.result()
            if following is not None:
                pending = searcher.submit(search, following)
            with timer("scoring"):
                results.update(score_needs(list(needs.values()), offers, candidates, config, keep, table))
            if not still_wanted(run_id, owner, min(start + batch, len(need_ids))):
                logger.info("matching run %s stopped at %s/%s needs", run_id, start, len(need_ids))
                if following is not None:
                    pending.cancel()
                return None
            if following is None:  # that was the last batch
                break
            needs = following
    return results


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
