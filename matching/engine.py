"""The matching computation, shared by full runs and incremental re-scoring.

needs + offers (features) → candidates from the search backend (one batched multi-search) →
scored pairs (``matching.scoring``) → the plan (``matching.plan``) → per-need outcomes.
Nothing here writes to the database; ``matching.services.runs`` persists the result.
"""

from __future__ import annotations

import contextlib
import gc
import time
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from kb.models import EntryKind
from kb.search import SearchBackend
from kb.search.query import TermQuery, VectorQuery
from kb.vectors.matrix import VectorMatrix
from kb.vectors.sync import entry_sentences
from matching.bulk import OfferTable, eligible, pair_components, pair_scores
from matching.features import Features, query_terms
from matching.models import MatchingSettings, UncoveredReason
from matching.plan import Commitments, PlanNeed, PlanResult, solve
from matching.scoring import COMPONENTS, ScoredPair, explain


@dataclass(frozen=True)
class MatchConfig:
    weights: dict[str, float]
    context_share: float
    prefer_bonus: float
    candidates_per_need: int
    stored_per_need: int
    min_score: float
    definition: str
    semantic_range: tuple[float, float] = (0.0, 0.3)

    def as_dict(self) -> dict:
        return {
            **self.weights,
            "context_share": self.context_share,
            "south_south_prefer_bonus": self.prefer_bonus,
            "min_score": self.min_score,
            "semantic_range": list(self.semantic_range),
            "candidates_per_need": self.candidates_per_need,
            "stored_per_need": self.stored_per_need,
        }

    @classmethod
    def from_dict(cls, values: dict, definition: str) -> MatchConfig:
        """The configuration a run recorded (``as_dict``): every batch of it scores with the same."""
        return cls(
            weights={name: float(values[name]) for name in COMPONENTS},
            context_share=float(values["context_share"]),
            prefer_bonus=float(values["south_south_prefer_bonus"]),
            candidates_per_need=int(values["candidates_per_need"]),
            stored_per_need=int(values["stored_per_need"]),
            min_score=float(values["min_score"]),
            definition=definition,
            semantic_range=(float(values["semantic_range"][0]), float(values["semantic_range"][1])),
        )


def match_config() -> MatchConfig:
    """The weights and limits in force: the admin's row over the settings' defaults."""
    values = dict(settings.MATCHING_DEFAULTS)
    row = MatchingSettings.objects.first()
    if row is not None:
        values.update({key: getattr(row, key) for key in values if getattr(row, key, None) is not None})
    return MatchConfig(
        weights={name: float(values[f"weight_{name}"]) for name in COMPONENTS},
        context_share=float(values["context_share"]),
        prefer_bonus=float(values["south_south_prefer_bonus"]),
        candidates_per_need=int(values["candidates_per_need"]),
        stored_per_need=int(values["stored_per_need"]),
        min_score=float(values["min_score"]),
        definition=settings.SOUTH_SOUTH_DEFINITION,
        semantic_range=(float(values["semantic_floor"]), float(values["semantic_ceiling"])),
    )


def candidate_queries(needs: list[Features]) -> list[TermQuery]:
    queries = []
    for need in needs:
        terms = query_terms(need)
        queries.append(
            TermQuery(
                key=need.id,
                groups=[frozenset({term}) for term, _weight in terms],
                weights=[round(weight, 4) for _term, weight in terms],
                concepts=sorted(need.concepts),
                articles=sorted(str(a) for a in need.article_tags),
                exclude_country=need.country_id,
            )
        )
    return queries


#: Reciprocal-rank fusion constant (Cormack et al.): a candidate at rank r in one list adds 1/(K + r).
RRF_K = 60


def vector_queries(needs: list[Features]) -> list[VectorQuery]:
    return [
        VectorQuery(key=need.id, vector=need.embedding.tolist(), exclude_country=need.country_id)
        for need in needs
        if need.embedding is not None
    ]


def fuse(rankings: list[dict[int, list[int]]], size: int | None = None) -> dict[int, list[int]]:
    """Reciprocal-rank fusion of several best-first lists per key (all of them, or the best
    ``size``); ties by id."""
    fused: dict[int, list[int]] = {}
    for key in {k for ranking in rankings for k in ranking}:
        scores: dict[int, float] = {}
        for ranking in rankings:
            for rank, item in enumerate(ranking.get(key, []), start=1):
                scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank)
        fused[key] = sorted(scores, key=lambda item: (-scores[item], item))[:size]
    return fused


def fetch_candidates(
    backend: SearchBackend, needs: list[Features], size: int, vectors: VectorMatrix | None = None
) -> dict[int, list[int]]:
    """Offer ids per need, best first: the lexical search (words, concepts, articles) and the
    semantic one (kNN on the text vectors, any language), ``size`` each, fused by reciprocal rank.

    All of both lists are kept (they overlap; scoring decides): an offer a need's words miss, in
    another language or untagged, still reaches scoring by meaning.

    ``vectors``: the published offers' vectors, taken once by a full run; its kNN is then exact,
    a matrix product per block of needs, on either backend (the search engine's kNN answers one
    query at a time, which cost a 10k x 10k run on Elasticsearch half of its time). Without it
    the backend answers (incremental re-scoring: a few needs).
    """
    lexical = backend.candidates("offer", candidate_queries(needs), size)
    by_words = {need_id: [offer_id for offer_id, _score in found] for need_id, found in lexical.items()}
    queries = vector_queries(needs)
    if not queries:
        return by_words
    if vectors is not None:
        usable = [q for q in queries if len(q.vector) == vectors.vectors.shape[1]]
        found = vectors.nearest_many(
            np.asarray([q.vector for q in usable], dtype=np.float32), size, [q.exclude_country for q in usable]
        )
        by_meaning = {q.key: [offer_id for offer_id, _s in hits] for q, hits in zip(usable, found, strict=True)}
    else:
        by_meaning = {
            k: [offer_id for offer_id, _s in found] for k, found in backend.similar("offer", queries, size).items()
        }
    return fuse([by_words, by_meaning])


#: Pairs per need kept after scoring (the best ones): what the plan chooses from and what is stored.
PLAN_PAIRS_PER_NEED = 20


@dataclass
class NeedResult:
    need: Features
    pairs: list[ScoredPair] = field(default_factory=list)  # eligible, best first
    had_candidates: bool = False  # search found something before the hard rules
    had_only_non_south_south: bool = False


def score_needs(
    needs: list[Features],
    offers: dict[int, Features],
    candidates: dict[int, list[int]],
    config: MatchConfig,
    keep: frozenset[tuple[int, int]] = frozenset(),
    table: OfferTable | None = None,
) -> dict[int, NeedResult]:
    """Score each need's candidates; the best ``PLAN_PAIRS_PER_NEED`` are kept, and the ``keep``
    pairs (open proposals, scored again to see whether they still reach the cut-off) whatever
    their rank.

    All of the batch's pairs are scored at once (``matching.bulk``: the arithmetic of
    ``matching.scoring``); ``table``: the offers as arrays, built once per full run (it must
    describe ``offers``), else built here.
    """
    table = table if table is not None else OfferTable(offers, config.definition)
    side = table.needs(needs)
    need_rows: list[int] = []
    offer_rows: list[int] = []
    for row, need in enumerate(needs):
        found = [table.row[o] for o in candidates.get(need.id, []) if o in table.row]
        need_rows += [row] * len(found)
        offer_rows += found
    n = np.array(need_rows, dtype=np.int64)
    o = np.array(offer_rows, dtype=np.int64)
    country_n, country_o = side.country[n], table.offers.country[o]
    other_state = country_n != country_o
    had_candidates = np.bincount(n[other_state | (country_n == -1)], minlength=len(needs)) > 0
    ok, south_south = eligible(table, side, n, o)
    not_south_south = np.bincount(n[other_state & ~south_south], minlength=len(needs)) > 0
    n, o, south_south = n[ok], o[ok], south_south[ok]

    starts = np.searchsorted(n, np.arange(len(needs) + 1))
    semantic = np.full(len(n), np.nan)
    for row, need in enumerate(needs):
        first, last = starts[row], starts[row + 1]
        if need.embedding is not None and last > first:
            semantic[first:last] = table.semantic(need, o[first:last])
    components = pair_components(table, side, n, o, semantic, config.semantic_range, south_south)
    prefers = np.array([need.south_south == "prefer" for need in needs], dtype=bool)
    bonus = np.where(south_south & prefers[n], config.prefer_bonus, 0.0)
    scores = pair_scores(components, config.weights, config.context_share, bonus)

    offer_ids = table.ids[o]
    order = np.lexsort((offer_ids, -np.array(scores), n))
    columns = [components[name] for name in COMPONENTS]
    results: dict[int, NeedResult] = {}
    for row, need in enumerate(needs):
        result = NeedResult(need=need, had_candidates=bool(had_candidates[row]))
        ranked = order[starts[row] : starts[row + 1]]
        chosen = [
            i for rank, i in enumerate(ranked.tolist())
            if rank < PLAN_PAIRS_PER_NEED or (need.id, int(offer_ids[i])) in keep
        ]  # fmt: skip
        values = np.column_stack([column[chosen] for column in columns]).tolist() if chosen else []
        for i, pair_values in zip(chosen, values, strict=True):
            result.pairs.append(
                ScoredPair(
                    need_id=need.id,
                    offer_id=int(offer_ids[i]),
                    score=scores[i],
                    components={
                        name: None if value != value else round(value, 4)
                        for name, value in zip(COMPONENTS, pair_values, strict=True)
                    },
                    reasons=[],
                    south_south=bool(south_south[i]),
                )
            )
        if need.south_south == "require" and result.had_candidates and not result.pairs:
            result.had_only_non_south_south = bool(not_south_south[row])
        results[need.id] = result
    return results


_NO_SENTENCES = np.zeros((0, 0), dtype=np.float32)


def explain_kept(
    results: dict[int, NeedResult],
    offers: dict[int, Features],
    keep: set[tuple[int, int]],
    config: MatchConfig,
    sentences: dict[int, tuple[list[str], np.ndarray]] | None = None,
) -> None:
    """Write the reasons of the pairs that will be stored (reasons cost more than scores).

    A semantic reason quotes the offer's sentence closest in meaning to the need: the sentences'
    vectors are read only for the offers of pairs that are stored and that the semantic
    component contributed to. ``sentences``: those already read (a worker scoring batch after
    batch keeps them), added to here.
    """
    semantic = {
        offer_id for need_id, result in results.items() for pair in result.pairs
        if (need_id, offer_id := pair.offer_id) in keep and pair.components.get("semantic")
    }  # fmt: skip
    sentences = sentences if sentences is not None else {}
    missing = semantic - sentences.keys()
    if missing:
        found = entry_sentences(EntryKind.OFFER, missing)
        # Offers without sentence vectors are remembered too (no quote: as if not found).
        sentences.update({offer_id: found.get(offer_id, ([], _NO_SENTENCES)) for offer_id in missing})
    for need_id, result in results.items():
        for pair in result.pairs:
            if (need_id, pair.offer_id) in keep:
                bonus = config.prefer_bonus if (pair.south_south and result.need.south_south == "prefer") else 0.0
                closest = None
                if pair.components.get("semantic") and pair.offer_id in sentences:
                    closest = closest_sentence(result.need, *sentences[pair.offer_id])
                pair.reasons = explain(
                    result.need,
                    offers[pair.offer_id],
                    pair.components,
                    config.weights,
                    config.definition,
                    bonus,
                    closest_sentence=closest,
                )


def closest_sentence(need: Features, sentences: list[str], vectors: np.ndarray) -> str | None:
    """The sentence whose vector is closest to the need's (centred) text vector."""
    if need.embedding is None or not sentences or vectors.shape != (len(sentences), len(need.embedding)):
        return None
    return sentences[int(np.argmax(vectors @ need.embedding))]


def plan(
    results: dict[int, NeedResult],
    capacities: dict[int, int],
    config: MatchConfig,
    commitments: Commitments | None = None,
) -> PlanResult:
    needs = {nid: PlanNeed(wanted=r.need.providers_wanted, priority=r.need.priority) for nid, r in results.items()}
    pairs = [(p.need_id, p.offer_id, p.score) for r in results.values() for p in r.pairs if p.score >= config.min_score]
    return solve(needs, capacities, pairs, commitments)


def outcome_reason(result: NeedResult, assigned: int, config: MatchConfig, capacities: dict[int, int]) -> str:
    """Why a need got fewer providers than it wants ("" when fully covered)."""
    if assigned >= result.need.providers_wanted:
        return ""
    if result.had_only_non_south_south:
        return UncoveredReason.ONLY_NON_SOUTH_SOUTH
    if not result.pairs:
        return UncoveredReason.NO_CANDIDATE
    strong = [p for p in result.pairs if p.score >= config.min_score]
    if not strong:
        return UncoveredReason.BELOW_THRESHOLD
    return UncoveredReason.CAPACITY_EXHAUSTED


@contextlib.contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for a full run.

    A run allocates hundreds of thousands of small objects (scored pairs, their components and
    reasons) that stay alive until it ends; each automatic collection walks all of them, which
    measured as a third of the scoring and explanation time at 10k x 10k. They hold no reference
    cycles, so nothing is left for the collector until the run ends and it is resumed.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Timer:
    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def __call__(self, name: str):
        timer = self

        class _Span:
            def __enter__(self):
                self.start = time.perf_counter()

            def __exit__(self, *exc):
                timer.seconds[name] = round(timer.seconds.get(name, 0.0) + time.perf_counter() - self.start, 4)

        return _Span()
