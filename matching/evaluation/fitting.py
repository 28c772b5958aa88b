"""Fitting matching's weights, semantic calibration and cut-off to a judged set.

Reproducible by construction: the components of every eligible (need, offer) pair of the set are
computed once by the product's own code (``matching.scoring.components_of``) into a table; the
fit then only re-weights that table with numpy, exactly as ``matching.scoring.score_of`` does
(weighted means of the applicable topical and context components, context moving the score by
``context_share``, the South-South preference bonus, rounding to four places, ties by offer id).

1. **Semantic calibration** (per encoder): a centred cosine at the 90th percentile of all pairs
   (nearly all pairs are unrelated: this is what an unrelated pair can still score) maps to 0; the
   90th percentile of the judged-relevant pairs maps to 1.
2. **Weights**: coordinate ascent, from equal weights and from six random starts, on ``recall@5 + nDCG@10`` over the
   judged needs (minus the share of judged-irrelevant offers in the first five, when the set has
   such judgments, e.g. declined proposals), each sweep visiting the parameters in an order drawn
   from a seeded generator; only strict improvements are taken, so the result is deterministic.
   Weights are reported normalised (topical weights sum to 1, context weights sum to 1: only their
   ratios matter).
3. **Cut-off**: ``min_score`` is the score that 85 % of the judged needs' best relevant pair reach,
   so a need with a real candidate gets a proposal.

The numbers of the fit (in-sample, and 2-fold cross-validation repeated with three fixed splits,
the honest estimate of how the weights do on needs they were not fitted on) are returned beside
the weights.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from kb.models import AssistanceNeed, EntryKind, ExpertiseOffer
from matching.engine import MatchConfig
from matching.evaluation.judged_set import JudgedSet
from matching.evaluation.metrics import evaluate, ndcg_at, recall_at
from matching.evaluation.runner import external_ids
from matching.features import apply_corpus, corpus_stats_compute, load_features
from matching.scoring import CONTEXT, TOPICAL, components_of, is_candidate, is_south_south, semantic_cosine

#: How far the fit may move one parameter in one step: multiples of its value, and absolute values.
FACTORS = (0.0, 0.5, 0.8, 1.25, 2.0)
ABSOLUTE = (0.02, 0.05, 0.1, 0.2, 0.4)
MAX_SWEEPS = 8
START_CONTEXT_SHARE = 0.35
#: Random starting points besides the neutral one (coordinate ascent finds local optima).
RESTARTS = 3
#: Bootstrap resamples whose fits are averaged.
BAGS = 12
CONTEXT_SHARES = (0.1, 0.2, 0.35, 0.5)
#: The semantic component: floor at this quantile of all pairs, ceiling at this one of the relevant.
SEMANTIC_FLOOR_QUANTILE = 0.9
SEMANTIC_CEILING_QUANTILE = 0.9
#: Share of judged needs whose best relevant pair the cut-off keeps.
COVERAGE_QUANTILE = 0.85


@dataclass
class PairTable:
    """Every eligible pair of the set, with its components (semantic as the raw centred cosine)."""

    need_ids: list[str]  # one per pair (external ids)
    offer_ids: list[str]
    offer_keys: np.ndarray  # offer primary keys: the product breaks score ties by them
    topical: np.ndarray  # (pairs, len(TOPICAL)), NaN where a component does not apply
    context: np.ndarray  # (pairs, len(CONTEXT))
    cosine: np.ndarray  # (pairs,), NaN without vectors
    prefer_bonus_applies: np.ndarray  # (pairs,) bool
    groups: dict[str, np.ndarray] = field(default_factory=dict)  # need id -> pair indices

    def __post_init__(self) -> None:
        indices: dict[str, list[int]] = {}
        for index, need_id in enumerate(self.need_ids):
            indices.setdefault(need_id, []).append(index)
        self.groups = {k: np.asarray(v) for k, v in indices.items()}


def pair_table(definition: str) -> PairTable:
    """Components of all eligible pairs of the published needs and offers in this database."""
    offers = load_features(EntryKind.OFFER, list(ExpertiseOffer.objects.values_list("pk", flat=True)))
    needs = load_features(EntryKind.NEED, list(AssistanceNeed.objects.values_list("pk", flat=True)))
    corpus = corpus_stats_compute(offers)
    apply_corpus(offers, corpus)
    apply_corpus(needs, corpus)
    need_ext, offer_ext = external_ids(EntryKind.NEED), external_ids(EntryKind.OFFER)
    rows: list[tuple] = []
    for need in sorted(needs.values(), key=lambda f: f.id):
        for offer in sorted(offers.values(), key=lambda f: f.id):
            if not is_candidate(need, offer, definition):
                continue
            # The semantic range (0, 1) keeps the cosine itself; it is calibrated below.
            components = components_of(need, offer, definition, semantic_range=(0.0, 1.0))
            cosine = semantic_cosine(need, offer)
            cosine = np.nan if cosine is None else cosine
            rows.append(
                (
                    need_ext[need.id],
                    offer_ext[offer.id],
                    offer.id,
                    [np.nan if components[c] is None else components[c] for c in TOPICAL],
                    [np.nan if components[c] is None else components[c] for c in CONTEXT],
                    cosine,
                    is_south_south(need, offer, definition) and need.south_south == "prefer",
                )
            )
    return PairTable(
        need_ids=[r[0] for r in rows],
        offer_ids=[r[1] for r in rows],
        offer_keys=np.asarray([r[2] for r in rows]),
        topical=np.asarray([r[3] for r in rows], dtype=np.float64).reshape(len(rows), len(TOPICAL)),
        context=np.asarray([r[4] for r in rows], dtype=np.float64).reshape(len(rows), len(CONTEXT)),
        cosine=np.asarray([r[5] for r in rows], dtype=np.float64),
        prefer_bonus_applies=np.asarray([r[6] for r in rows], dtype=bool),
    )


@dataclass
class Parameters:
    weights: dict[str, float]
    context_share: float
    prefer_bonus: float
    semantic_range: tuple[float, float]

    def normalised(self) -> dict[str, float]:
        result = {}
        for names in (TOPICAL, CONTEXT):
            total = sum(self.weights[n] for n in names) or 1.0
            result.update({n: round(self.weights[n] / total, 3) for n in names})
        return result


def _weighted_mean(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    applies = ~np.isnan(values)
    filled = np.where(applies, values, 0.0)
    total = applies.astype(np.float64) @ weights
    return np.divide(filled @ weights, total, out=np.zeros(len(values)), where=total > 0)


def scores(table: PairTable, p: Parameters) -> np.ndarray:
    """``matching.scoring.score_of`` for every pair of the table at once."""
    topical_values = table.topical.copy()
    semantic = TOPICAL.index("semantic")
    floor, ceiling = p.semantic_range
    topical_values[:, semantic] = np.clip((table.cosine - floor) / max(ceiling - floor, 1e-6), 0.0, 1.0)
    topical = _weighted_mean(topical_values, np.asarray([p.weights[n] for n in TOPICAL]))
    context = _weighted_mean(table.context, np.asarray([p.weights[n] for n in CONTEXT]))
    bonus = np.where(table.prefer_bonus_applies, p.prefer_bonus, 0.0)
    raw = topical * (1 - p.context_share + p.context_share * context) * (1 + bonus)
    return np.round(np.minimum(1.0, raw), 4)


def rankings(table: PairTable, p: Parameters, top: int = 10) -> dict[str, list[str]]:
    values = scores(table, p)
    result = {}
    for need_id, index in table.groups.items():
        order = index[np.lexsort((table.offer_keys[index], -values[index]))][:top]
        result[need_id] = [table.offer_ids[i] for i in order]
    return result


def objective(table: PairTable, judged: JudgedSet, p: Parameters, needs=None, counts=None) -> float:
    """recall@5 + nDCG@10 over the judged needs (``counts``: how often each need counts, for
    bootstrap resamples), minus the share of judged-irrelevant offers in the first five."""
    ranked = rankings(table, p)
    if counts:
        total = sum(counts.values())
        value = (
            sum(
                count
                * (recall_at(ranked.get(n, []), judged.judgments[n]) + ndcg_at(ranked.get(n, []), judged.judgments[n]))
                for n, count in counts.items()
            )
            / total
        )
    else:
        report = evaluate(ranked, judged, needs=needs)
        value = report.all.recall_at_5 + report.all.ndcg_at_10
    negatives = [
        (n, set(j.negative_offer_ids))
        for n, j in judged.judgments.items()
        if j.negative_offer_ids and (needs is None or needs(n))
    ]
    if negatives:
        value -= sum(len(set(ranked.get(n, [])[:5]) & bad) / min(5, len(bad)) for n, bad in negatives) / len(negatives)
    return value


def calibrate_semantic(table: PairTable, judged: JudgedSet) -> tuple[float, float] | None:
    known = ~np.isnan(table.cosine)
    if not known.any():
        return None
    relevant = np.asarray(
        [
            known[i] and table.offer_ids[i] in judged.judgments.get(table.need_ids[i], _EMPTY).offer_ids
            for i in range(len(table.need_ids))
        ]
    )
    floor = float(np.quantile(table.cosine[known], SEMANTIC_FLOOR_QUANTILE))
    ceiling = float(np.quantile(table.cosine[relevant], SEMANTIC_CEILING_QUANTILE)) if relevant.any() else floor + 0.3
    return round(floor, 4), round(max(ceiling, floor + 0.05), 4)


class _Empty:
    offer_ids: tuple = ()


_EMPTY = _Empty()


def _candidates(name: str, value: float) -> list[float]:
    values = {round(value * f, 4) for f in FACTORS} | set(ABSOLUTE)
    if name == "context_share":
        values = set(CONTEXT_SHARES) | {round(min(1.0, v), 4) for v in values if v > 0}
    return sorted(values)


def informative(table: PairTable) -> list[str]:
    """The components whose weight the set can inform: those that vary between its pairs (the dev
    set has no ratings and one capacity for every offer: their weights stay where they start)."""
    names = []
    for name in [*TOPICAL, *CONTEXT]:
        if name == "semantic":
            column = table.cosine
        elif name in TOPICAL:
            column = table.topical[:, TOPICAL.index(name)]
        else:
            column = table.context[:, CONTEXT.index(name)]
        known = column[~np.isnan(column)]
        if len(known) and np.ptp(known) > 0:
            names.append(name)
    return names


def fit_weights(table: PairTable, judged: JudgedSet, start: Parameters, *, seed: int, needs=None) -> Parameters:
    """Bagged coordinate ascent: fit on ``BAGS`` bootstrap resamples of the judged needs (drawn
    from ``seed``) and average the normalised weights and context shares. One fit on 50 needs
    follows their noise (a rank metric is flat almost everywhere); the average keeps what most
    resamples agree on."""
    rng = random.Random(seed)
    pool = sorted(n for n, j in judged.judgments.items() if j.offer_ids and (needs is None or needs(n)))
    fits = []
    for _ in range(BAGS):
        counts: dict[str, int] = {}
        for need in rng.choices(pool, k=len(pool)):
            counts[need] = counts.get(need, 0) + 1
        fitted = _fit_once(table, judged, start, rng.randrange(1 << 30), counts.__contains__, counts=counts)
        fits.append(fitted)
    names = list(start.weights)
    averaged = Parameters(
        {n: sum(f.weights[n] for f in fits) / len(fits) for n in names},
        round(sum(f.context_share for f in fits) / len(fits), 3),
        start.prefer_bonus,
        start.semantic_range,
    )
    averaged.weights = averaged.normalised()
    return averaged


def _fit_once(table: PairTable, judged: JudgedSet, start: Parameters, seed: int, needs=None, counts=None) -> Parameters:
    """Coordinate ascent from ``start`` and from ``RESTARTS`` random starts drawn from ``seed``;
    the best result (ties: the earliest)."""
    rng = random.Random(seed)
    starts = [start]
    free = set(informative(table))
    for _ in range(RESTARTS):
        weights = {
            name: round(rng.uniform(0.05, 1.0), 3) if name in free else start.weights[name] for name in start.weights
        }
        starts.append(Parameters(weights, rng.choice(CONTEXT_SHARES), start.prefer_bonus, start.semantic_range))
    best_value, best = -1.0, start
    for origin in starts:
        fitted, value = _ascend(table, judged, origin, rng, needs, counts)
        if value > best_value + 1e-9:
            best_value, best = value, fitted
    best.weights = best.normalised()
    return best


def _ascend(
    table: PairTable, judged: JudgedSet, start: Parameters, rng: random.Random, needs, counts
) -> tuple[Parameters, float]:
    current = Parameters(dict(start.weights), start.context_share, start.prefer_bonus, start.semantic_range)
    best = objective(table, judged, current, needs, counts)
    names = [*informative(table), "context_share"]
    for _sweep in range(MAX_SWEEPS):
        improved = False
        order = names[:]
        rng.shuffle(order)
        for name in order:
            value = current.context_share if name == "context_share" else current.weights[name]
            for candidate in _candidates(name, value):
                trial = Parameters(
                    dict(current.weights), current.context_share, current.prefer_bonus, current.semantic_range
                )
                if name == "context_share":
                    trial.context_share = candidate
                else:
                    trial.weights[name] = candidate
                score = objective(table, judged, trial, needs, counts)
                if score > best + 1e-9:
                    best, current, improved = score, trial, True
        if not improved:
            break
    return current, best


def calibrate_min_score(table: PairTable, judged: JudgedSet, p: Parameters) -> float:
    values = scores(table, p)
    best_relevant = []
    for need_id, index in table.groups.items():
        relevant = set(judged.judgments.get(need_id, _EMPTY).offer_ids)
        found = [values[i] for i in index if table.offer_ids[i] in relevant]
        if found:
            best_relevant.append(max(found))
    if not best_relevant:
        return 0.0
    return round(float(np.quantile(best_relevant, 1 - COVERAGE_QUANTILE)), 3)


@dataclass
class FitResult:
    parameters: Parameters
    min_score: float
    in_sample: dict
    start: dict
    cross_validation: dict
    pairs: int
    semantic_only: dict | None = None

    def defaults(self) -> dict:
        values = {f"weight_{name}": weight for name, weight in self.parameters.weights.items()}
        values["context_share"] = self.parameters.context_share
        values["min_score"] = self.min_score
        floor, ceiling = self.parameters.semantic_range
        values["semantic_floor"], values["semantic_ceiling"] = floor, ceiling
        return values


def _report(table: PairTable, judged: JudgedSet, p: Parameters, needs=None) -> dict:
    return evaluate(rankings(table, p), judged, needs=needs).as_dict()


def fit(table: PairTable, judged: JudgedSet, config: MatchConfig, *, seed: int = 7) -> FitResult:
    """Calibrate, fit and cut off; with cross-validation numbers of the same procedure."""
    semantic_range = calibrate_semantic(table, judged) or config.semantic_range
    # A fixed, neutral start (every weight equal), not the current defaults: fitting twice on the
    # same set gives the same result.
    start = Parameters(dict.fromkeys(config.weights, 1.0), START_CONTEXT_SHARE, config.prefer_bonus, semantic_range)
    fitted = fit_weights(table, judged, start, seed=seed)
    folds = []
    judged_needs = sorted(n for n, j in judged.judgments.items() if j.offer_ids)
    for split in range(3):
        shuffled = judged_needs[:]
        random.Random(seed + 1 + split).shuffle(shuffled)
        half = set(shuffled[: len(shuffled) // 2])
        for train in (half, set(judged_needs) - half):
            weights = fit_weights(table, judged, start, seed=seed, needs=train.__contains__)
            folds.append(_report(table, judged, weights, needs=lambda n, train=train: n not in train))
    cross_validation = {
        group: {
            metric: round(float(np.mean([f[group][metric] for f in folds])), 3) for metric in ("recall@5", "nDCG@10")
        }
        for group in ("all", "en", "other")
    }
    alone = None
    if not np.isnan(table.cosine).all():
        only = Parameters({n: float(n == "semantic") for n in start.weights}, 0.0, 0.0, semantic_range)
        alone = _report(table, judged, only)
    return FitResult(
        semantic_only=alone,
        parameters=fitted,
        min_score=calibrate_min_score(table, judged, fitted),
        in_sample=_report(table, judged, fitted),
        start=_report(table, judged, start),
        cross_validation=cross_validation,
        pairs=len(table.need_ids),
    )
