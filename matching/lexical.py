"""Okapi BM25 between needs and offers over the analysed terms matching already holds.

Used by the evaluation's lexical anchor; the candidates of a run come from the search backend's own
BM25. Offers are the documents (their term frequencies, length-normalised); a need's distinct terms
are the query.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from matching.features import Features

K1 = 1.2
B = 0.75


def bm25_scores(needs: list[Features], offers: list[Features]) -> dict[int, dict[int, float]]:
    """need id → {offer id: BM25 score > 0}."""
    if not offers:
        return {}
    frequencies: Counter = Counter()
    for offer in offers:
        frequencies.update(offer.counts.keys())
    documents = len(offers)
    idf = {t: math.log(1 + (documents - df + 0.5) / (df + 0.5)) for t, df in frequencies.items()}
    lengths = {o.id: sum(o.counts.values()) for o in offers}
    average = sum(lengths.values()) / documents or 1.0
    postings: dict[str, list[tuple[int, float]]] = {}
    for offer in offers:
        norm = K1 * (1 - B + B * lengths[offer.id] / average)
        for term, tf in offer.counts.items():
            postings.setdefault(term, []).append((offer.id, idf[term] * tf * (K1 + 1) / (tf + norm)))
    result: dict[int, dict[int, float]] = {}
    for need in needs:
        scores: defaultdict[int, float] = defaultdict(float)
        for term in need.counts:
            for offer_id, weight in postings.get(term, ()):
                scores[offer_id] += weight
        result[need.id] = dict(scores)
    return result
