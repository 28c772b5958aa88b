"""Ranking metrics over a judged set.

- **recall@5**: of a need's relevant offers (at most 5 count), the share in its first five
  candidates.
- **nDCG@10**: discounted cumulative gain of the first ten candidates over the ideal ordering.
  Gains are graded by the judgment's order (the best of *n* relevant offers gains *n*, the last 1)
  or by explicit grades when the set has them (ratings of completed engagements).
- **coverage**: the share of needs with at least one relevant offer for which the plan proposes a
  pair (any pair: the recipient then decides).

Only needs with at least one relevant offer count; each metric is also split by the need's
language (English / other), since cross-language matching is where a matcher is weakest.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from matching.evaluation.judged_set import JudgedSet, Judgment


@dataclass(frozen=True)
class Metrics:
    needs: int
    recall_at_5: float
    ndcg_at_10: float
    coverage: float | None  # None for rankings without a plan (the anchors)

    def as_dict(self) -> dict:
        return {
            "needs": self.needs,
            "recall@5": round(self.recall_at_5, 3),
            "nDCG@10": round(self.ndcg_at_10, 3),
            "coverage": None if self.coverage is None else round(self.coverage, 3),
        }


@dataclass(frozen=True)
class Report:
    all: Metrics
    english: Metrics
    other: Metrics

    def as_dict(self) -> dict:
        return {"all": self.all.as_dict(), "en": self.english.as_dict(), "other": self.other.as_dict()}


def recall_at(ranked: Sequence[str], judgment: Judgment, k: int = 5) -> float:
    relevant = set(judgment.offer_ids)
    return len(set(ranked[:k]) & relevant) / min(len(relevant), k)


def gains_of(judgment: Judgment) -> dict[str, float]:
    if judgment.grades:
        return {offer: grade for offer, grade in judgment.grades.items() if offer in judgment.offer_ids}
    n = len(judgment.offer_ids)
    return {offer: float(n - position) for position, offer in enumerate(judgment.offer_ids)}


def ndcg_at(ranked: Sequence[str], judgment: Judgment, k: int = 10) -> float:
    gains = gains_of(judgment)
    dcg = sum(gains.get(offer, 0.0) / math.log2(position + 2) for position, offer in enumerate(ranked[:k]))
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(gain / math.log2(position + 2) for position, gain in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def _metrics(
    need_ids: list[str], rankings: Mapping[str, Sequence[str]], judged: JudgedSet, covered: set[str] | None
) -> Metrics:
    if not need_ids:
        return Metrics(0, 0.0, 0.0, None if covered is None else 0.0)
    recall = [recall_at(rankings.get(n, []), judged.judgments[n]) for n in need_ids]
    ndcg = [ndcg_at(rankings.get(n, []), judged.judgments[n]) for n in need_ids]
    coverage = None if covered is None else sum(n in covered for n in need_ids) / len(need_ids)
    return Metrics(len(need_ids), sum(recall) / len(recall), sum(ndcg) / len(ndcg), coverage)


def evaluate(
    rankings: Mapping[str, Sequence[str]],
    judged: JudgedSet,
    covered: set[str] | None = None,
    needs: Callable[[str], bool] | None = None,
) -> Report:
    """Metrics of ``rankings`` (need id → offer ids, best first) against the judgments.

    ``covered``: the needs the plan proposed a pair for. ``needs``: restrict to these need ids
    (cross-validation folds).
    """
    judged_needs = [n for n, judgment in judged.judgments.items() if judgment.offer_ids and (needs is None or needs(n))]
    english = [n for n in judged_needs if judged.language_of(n) == "en"]
    other = [n for n in judged_needs if judged.language_of(n) != "en"]
    return Report(
        all=_metrics(judged_needs, rankings, judged, covered),
        english=_metrics(english, rankings, judged, covered),
        other=_metrics(other, rankings, judged, covered),
    )
