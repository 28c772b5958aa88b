"""Starting, executing and cancelling matching runs; incremental re-scoring.

Invariants:
- One full run at a time (a partial unique index); a second request gets ``MatchRunAlreadyActive``.
- Execution is safe to run twice: a worker first claims the run with a lease (an atomic UPDATE
  naming it as the lease's owner) and renews it from a heartbeat thread while it works. A
  re-delivered task finding the lease alive is told so (``RunLeaseHeld``: the task retries later);
  one finding it expired takes over. A worker whose lease was taken over stops at its next check
  and never writes results; the run's rows are replaced in one transaction.
- Recovery is driven by the run record, not by the broker message: ``runs_recover`` (beat, every
  minute) hands back to the broker any full run whose lease expired or that was never picked up,
  and retries incremental re-scoring whose worker died.
- Results become visible in one transaction at the end: the run's need outcomes become current
  (and with them its candidates), the previous ones of the same needs stop being current.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import orjson
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from core.errors import DomainError
from core.tasks import enqueue
from kb.models import AssistanceNeed, EntryKind, EntryStatus, ExpertiseOffer
from kb.search import SearchBackend, SearchUnavailable, get_backend
from kb.vectors.matrix import published_matrix
from matching.bulk import OfferTable
from matching.engine import (
    MatchConfig,
    NeedResult,
    Timer,
    explain_kept,
    fetch_candidates,
    gc_paused,
    match_config,
    outcome_reason,
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
    ACTIVE_RUN_STATUSES,
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    RunScope,
    RunStatus,
    RunTrigger,
)
from matching.plan import PlanResult
from matching.services.proposals import (
    open_pairs_by_need,
    proposals_review,
    proposals_supersede_for_needs,
    proposals_sync,
    with_open_pairs,
)

logger = logging.getLogger(__name__)


def _lease() -> timedelta:
    return timedelta(seconds=settings.MATCHING_RUN_LEASE_SECONDS)


class MatchRunAlreadyActive(DomainError):
    code = "run_already_active"

    def __init__(self, run: MatchRun | None):
        self.run = run
        super().__init__(
            _("A full matching run is already queued or running (run #%(id)s).") % {"id": run.pk if run else "?"}
        )


class MatchRunNotActive(DomainError):
    code = "run_not_active"


def match_run_start(*, trigger: str, requested_by: User | None = None, enqueue: bool = True) -> MatchRun:
    """Queue a full run; a worker starts it after commit (``enqueue=False``: the caller runs it)."""

    try:
        with transaction.atomic(durable=True):
            run = MatchRun.objects.create(scope=RunScope.FULL, trigger=trigger, requested_by=requested_by)
            if enqueue:
                transaction.on_commit(lambda: _hand_to_broker(run.pk))
    except IntegrityError as exc:
        active = MatchRun.objects.filter(scope=RunScope.FULL, status__in=ACTIVE_RUN_STATUSES).first()
        if active is not None and active.status == RunStatus.RUNNING and _recoverable(active):
            _hand_to_broker(active.pk)  # its worker died: it resumes rather than blocking every run
        raise MatchRunAlreadyActive(active) from exc
    return run


#: The tasks this module starts, by registered name (matching.tasks imports this module).
RUN_TASK = "matching.tasks.run_matching_task"
RESCORE_NEEDS_TASK = "matching.tasks.rematch_needs_task"
RESCORE_OFFERS_TASK = "matching.tasks.rematch_for_offers_task"


def _enqueue(task: str, *args) -> bool:
    """False if the broker is down: runs_recover hands the work over again once it is back."""
    return enqueue(task, *args)


def _hand_to_broker(run_id: int) -> bool:
    """Queue the run's task and note when (a run never handed over is recovered at the next tick)."""
    MatchRun.objects.filter(pk=run_id).update(enqueued_at=timezone.now())
    if _enqueue(RUN_TASK, run_id):
        return True
    MatchRun.objects.filter(pk=run_id).update(enqueued_at=None)
    return False


def _recoverable(run: MatchRun) -> bool:
    now = timezone.now()
    if run.status == RunStatus.RUNNING:
        return run.lease_expires_at is None or run.lease_expires_at < now
    waited = timedelta(seconds=settings.MATCHING_RUN_QUEUED_SECONDS)
    return run.status == RunStatus.QUEUED and (run.enqueued_at is None or run.enqueued_at < now - waited)


def match_run_cancel(*, run: MatchRun) -> MatchRun:
    with transaction.atomic(durable=True):
        updated = MatchRun.objects.filter(pk=run.pk, status__in=ACTIVE_RUN_STATUSES).update(
            status=RunStatus.CANCELLED, finished_at=timezone.now()
        )
        if not updated:
            raise MatchRunNotActive(_("Only a queued or running run can be cancelled."))
    run.refresh_from_db()
    return run


class RunLeaseHeld(Exception):
    """Another worker holds a live lease on the run: try again once it may have expired."""

    def __init__(self, run_id: int, expires_at):
        self.run_id, self.expires_at = run_id, expires_at
        super().__init__(f"matching run {run_id} is leased until {expires_at:%H:%M:%S}")


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claim(run_id: int) -> str | None:
    """Take the run's lease: returns the owner token, None if the run is no longer active.

    Raises ``RunLeaseHeld`` if another worker's lease is still alive. A run claimed
    MATCHING_RUN_MAX_ATTEMPTS times already (it keeps killing its workers) fails instead.
    """
    now = timezone.now()
    owner = _owner()
    active = MatchRun.objects.filter(pk=run_id, status__in=ACTIVE_RUN_STATUSES)
    with transaction.atomic():
        run = active.select_for_update().first()
        if run is None:
            return None
        if run.status == RunStatus.RUNNING and run.lease_expires_at and run.lease_expires_at >= now:
            raise RunLeaseHeld(run_id, run.lease_expires_at)
        if run.attempts >= settings.MATCHING_RUN_MAX_ATTEMPTS:
            active.update(
                status=RunStatus.FAILED,
                finished_at=now,
                lease_expires_at=None,
                error=_("The run stopped %(n)s times without finishing (its worker was lost).") % {"n": run.attempts},
            )
            logger.error("matching run %s failed: %s attempts without finishing", run_id, run.attempts)
            return None
        if run.attempts:
            logger.warning(
                "matching run %s taken over (attempt %s): its worker's lease expired", run_id, run.attempts + 1
            )
        active.update(
            status=RunStatus.RUNNING,
            started_at=run.started_at or now,
            lease_expires_at=now + _lease(),
            lease_owner=owner,
            attempts=run.attempts + 1,
        )
    return owner


class _Heartbeat:
    """Renew the run's lease every third of it from a thread of its own while the run works.

    ``lost`` is set once the lease is no longer ours (taken over, or the run was cancelled); the
    run checks it between batches and before writing. A failed renewal (database busy) is retried
    at the next beat: the lease is three beats long.
    """

    def __init__(self, run_id: int, owner: str):
        self.run_id, self.owner = run_id, owner
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"matching-lease-{run_id}", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def renew(self) -> bool:
        renewed = MatchRun.objects.filter(pk=self.run_id, status=RunStatus.RUNNING, lease_owner=self.owner).update(
            lease_expires_at=timezone.now() + _lease()
        )
        if not renewed:
            self.lost.set()
        return bool(renewed)

    def _beat(self) -> None:
        interval = max(settings.MATCHING_RUN_LEASE_SECONDS / 3, 0.2)
        try:
            while not self._stop.wait(interval):
                try:
                    if not self.renew():
                        return
                except Exception as exc:  # the next beat tries again
                    logger.warning("matching run %s: lease not renewed: %s", self.run_id, exc)
        finally:
            connection.close()  # this thread's own database connection


def _still_wanted(run_id: int, owner: str, done: int) -> bool:
    """Record progress, extend the lease; False if the run was cancelled or taken over meanwhile."""
    return bool(
        MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner).update(
            needs_done=done, lease_expires_at=timezone.now() + _lease()
        )
    )


@gc_paused()
def match_run_execute(*, run_id: int, backend: SearchBackend | None = None) -> MatchRun | None:
    """Execute a queued full run (the Celery task's body). Returns None if the run is no longer
    active; raises ``RunLeaseHeld`` if another worker is executing it."""
    owner = _claim(run_id)
    if owner is None:
        return None
    with _Heartbeat(run_id, owner):
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
        with timer("plan"):
            capacities = {offer_id: f.capacity_left for offer_id, f in offers.items()}
            review = proposals_review(results=results, capacities=capacities, min_score=config.min_score)
            capacities = review.net(capacities)
            plan_result = plan(results, capacities, config, review.commitments)
        return _persist(
            run_id,
            owner,
            results,
            offers,
            plan_result,
            config,
            capacities,
            review.supersede,
            full=True,
            timings=timer.seconds,
        )
    except SearchUnavailable as exc:
        # Transient: the run goes back to the queue (the task retries, runs_recover catches up).
        MatchRun.objects.filter(pk=run_id, status=RunStatus.RUNNING, lease_owner=owner).update(
            status=RunStatus.QUEUED, lease_expires_at=None, lease_owner="", error=str(exc)[:4000]
        )
        raise
    except Exception as exc:
        MatchRun.objects.filter(pk=run_id, lease_owner=owner).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=timezone.now()
        )
        raise


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

    def search(needs: dict[int, Features]):
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
            if not _still_wanted(run_id, owner, min(start + batch, len(need_ids))):
                logger.info("matching run %s stopped at %s/%s needs", run_id, start, len(need_ids))
                if following is not None:
                    pending.cancel()
                return None
            needs = following
    return results


def _persist(
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
        _insert_candidates(candidates)
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


def _insert_candidates(rows: list[tuple]) -> None:
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
        _retire_needs(gone)
    if not published:
        return None
    owner = _owner()
    run = MatchRun.objects.create(
        scope=RunScope.INCREMENTAL,
        trigger=trigger,
        status=RunStatus.RUNNING,
        need_ids=sorted(published),
        started_at=timezone.now(),
        lease_owner=owner,
        lease_expires_at=timezone.now() + _lease(),
        attempts=1,
        needs_total=len(published),
        definition=config.definition,
        weights=config.as_dict(),
        search_backend=backend.name,
    )
    try:
        with _Heartbeat(run.pk, owner):
            return _rescore(run, owner, published, backend, config, timer)
    except SearchUnavailable:
        # Nothing was written yet: the task retries; a failed attempt leaves no row behind.
        MatchRun.objects.filter(pk=run.pk).delete()
        raise
    except Exception as exc:
        MatchRun.objects.filter(pk=run.pk).update(
            status=RunStatus.FAILED, error=f"{type(exc).__name__}: {exc}"[:4000], finished_at=timezone.now()
        )
        raise


def _rescore(run: MatchRun, owner: str, published: set[int], backend, config: MatchConfig, timer: Timer) -> MatchRun:
    with timer("needs"):
        idf = corpus_stats_latest()
        needs = load_features(EntryKind.NEED, sorted(published))
        apply_corpus(needs, idf)
    open_pairs = open_pairs_by_need(sorted(published))
    with timer("candidates"):
        candidates = fetch_candidates(backend, list(needs.values()), config.candidates_per_need)
        candidates = with_open_pairs(candidates, open_pairs)
    with timer("offers"):
        offer_ids = sorted({o for found in candidates.values() for o in found})
        offers = load_features(EntryKind.OFFER, offer_ids)
        apply_corpus(offers, idf)
    with timer("scoring"):
        keep = frozenset((n, o) for n, offer_ids in open_pairs.items() for o in offer_ids)
        results = score_needs(list(needs.values()), offers, candidates, config, keep)
    # Capacity held by open proposals of any need is not free for these ones.
    with timer("plan"):
        capacities = {o: f.capacity_left for o, f in offers.items()}
        review = proposals_review(results=results, capacities=capacities, min_score=config.min_score)
        capacities = review.net(capacities)
        plan_result = plan(results, capacities, config, review.commitments)
    return _persist(
        run.pk,
        owner,
        results,
        offers,
        plan_result,
        config,
        capacities,
        review.supersede,
        full=False,
        timings=timer.seconds,
    )


def _retire_needs(need_ids: list[int]) -> None:
    """Needs no longer published: their candidates stop being current, uncommitted proposals are
    superseded."""
    with transaction.atomic():
        NeedOutcome.objects.filter(need_id__in=need_ids, is_current=True).update(is_current=False)
        proposals_supersede_for_needs(need_ids=need_ids)


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


def runs_recover() -> dict[str, int]:
    """Hand back what a dead worker or a broker outage left behind (beat calls this every minute).

    - a full run queued but never picked up (the broker was down when it was requested, or its
      message was lost), or running with an expired lease (its worker died): its task is queued
      again and the next worker takes the run over;
    - incremental re-scoring whose worker died: the run is marked failed and the same needs are
      queued for re-scoring again, unless a later run already re-scored them.
    """
    counts = {"full": 0, "incremental": 0}
    for run in MatchRun.objects.filter(scope=RunScope.FULL, status__in=ACTIVE_RUN_STATUSES):
        if _recoverable(run) and _hand_to_broker(run.pk):
            logger.warning("matching run %s (%s) handed to the broker again", run.pk, run.status)
            counts["full"] += 1
    lost = MatchRun.objects.filter(
        scope=RunScope.INCREMENTAL, status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
    )
    for run in lost:
        marked = MatchRun.objects.filter(
            pk=run.pk, status=RunStatus.RUNNING, lease_expires_at__lt=timezone.now()
        ).update(
            status=RunStatus.FAILED,
            finished_at=timezone.now(),
            error=_("The worker was lost; the needs were queued for re-scoring again."),
        )
        redone = MatchRun.objects.filter(
            scope=RunScope.INCREMENTAL, need_ids=run.need_ids, created_at__gt=run.created_at
        ).exclude(status=RunStatus.FAILED)
        if marked and not redone.exists() and _enqueue(RESCORE_NEEDS_TASK, run.need_ids):
            counts["incremental"] += 1
    return counts


def rescore_requests_done(kind: str, ids: list[int], *, before) -> int:
    """The re-scoring of these entries, requested before ``before``, is done."""
    from matching.models import RescoreRequest

    done, _by_model = RescoreRequest.objects.filter(
        entry_kind=kind, entry_id__in=list(ids), requested_at__lte=before
    ).delete()
    return done


def rescore_requests_drain() -> dict[str, int]:
    """Re-send re-scoring the chain after the commit did not finish (beat, every minute).

    A request waits ``MATCHING_RESCORE_GRACE_SECONDS`` (the vectors and the task's own turn come
    first) and is re-sent at most every ``MATCHING_RESCORE_RETRY_SECONDS``; one older than
    ``MATCHING_RESCORE_BUDGET_HOURS`` is dropped (the nightly full run has covered it since).
    """
    from matching.models import RescoreRequest

    now = timezone.now()
    expired, _by_model = RescoreRequest.objects.filter(
        requested_at__lt=now - timedelta(hours=settings.MATCHING_RESCORE_BUDGET_HOURS)
    ).delete()
    if expired:
        logger.warning("%s re-scoring requests older than %s h dropped (full runs cover them)",
                       expired, settings.MATCHING_RESCORE_BUDGET_HOURS)  # fmt: skip
    due = (
        RescoreRequest.objects.filter(requested_at__lt=now - timedelta(seconds=settings.MATCHING_RESCORE_GRACE_SECONDS))
        .exclude(attempted_at__gte=now - timedelta(seconds=settings.MATCHING_RESCORE_RETRY_SECONDS))
        .order_by("requested_at")
    )
    counts = {"need": 0, "offer": 0, "expired": expired}
    for kind, task in (("need", RESCORE_NEEDS_TASK), ("offer", RESCORE_OFFERS_TASK)):
        ids = list(due.filter(entry_kind=kind).values_list("entry_id", flat=True)[:2000])
        for start in range(0, len(ids), 200):
            chunk = ids[start : start + 200]
            RescoreRequest.objects.filter(entry_kind=kind, entry_id__in=chunk).update(attempted_at=timezone.now())
            if not _enqueue(task, chunk):
                RescoreRequest.objects.filter(entry_kind=kind, entry_id__in=chunk).update(attempted_at=None)
                return counts  # the broker is down: the next tick tries again
            counts[kind] += len(chunk)
    return counts
