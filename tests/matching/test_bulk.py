"""Scoring in bulk gives what scoring pair by pair gives, on random needs and offers."""

from __future__ import annotations

import math
import random
from collections import Counter

import numpy as np
import pytest

from matching.bulk import OfferTable
from matching.engine import PLAN_PAIRS_PER_NEED, MatchConfig, score_needs
from matching.features import Features
from matching.scoring import COMPONENTS, is_candidate, is_south_south, score_pair, semantic_cosines

CHAPTER_OF = {article: 1 + article % 5 for article in range(1, 72)}
TERMS = [f"term{i}" for i in range(40)]
PLACES = [
    ("Africa", "Western Africa"),
    ("Africa", "Eastern Africa"),
    ("Americas", "South America"),
    ("Asia", ""),
    ("", ""),
]
STATES = ["CIV", "RWA", "PRY", "KOR", "PSE", "FRA", ""]
THEMES = [f"theme{i}" for i in range(12)]
TA_TYPES = [f"type{i}" for i in range(70)]  # more than one 64-bit word
LANGUAGES = ["en", "fr", "es", "ar", "pt"]


def _subset(rng: random.Random, pool: list, most: int) -> frozenset:
    return frozenset(rng.sample(pool, rng.randint(0, most)))


def _unit(rng: random.Random, dim: int) -> np.ndarray:
    vector = np.array([rng.gauss(0, 1) for _ in range(dim)], dtype=np.float32)
    return vector / np.linalg.norm(vector)


def _features(rng: random.Random, kind: str, entry_id: int, dim: int) -> Features:
    article_tags = _subset(rng, list(CHAPTER_OF), 4)
    articles = article_tags or _subset(rng, list(CHAPTER_OF), 3)
    themes = _subset(rng, THEMES, 4)
    ta_types = _subset(rng, TA_TYPES, 3)
    region, subregion = rng.choice(PLACES)
    terms = rng.sample(TERMS, rng.randint(0, 8))
    weights = {t: rng.random() + 0.1 for t in terms}
    norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
    language = rng.choice(LANGUAGES)
    embedding = _unit(rng, dim) if rng.random() < 0.85 else None
    sentences = None
    if kind == "offer" and embedding is not None and rng.random() < 0.7:
        sentences = np.stack([_unit(rng, dim) for _ in range(rng.randint(1, 4))]).astype(np.float16)
    capacity = rng.randint(0, 6)
    features = Features(
        kind=kind,
        id=entry_id,
        title="",
        language=language,
        languages=frozenset({language, *_subset(rng, LANGUAGES, 2)}),
        country_id=rng.choice(STATES),
        region=region,
        subregion=subregion,
        g77=rng.random() < 0.7,
        m49_developing=rng.random() < 0.7,
        articles=articles,
        article_tags=article_tags,
        chapters=frozenset(CHAPTER_OF[a] for a in articles),
        chapter_of={a: CHAPTER_OF[a] for a in articles},
        ta_types=ta_types,
        themes=themes,
        ta_type_tags=frozenset(t for t in ta_types if rng.random() < 0.5),
        theme_tags=frozenset(t for t in themes if rng.random() < 0.5),
        concepts=frozenset(),
        counts=Counter(),
        surface={},
        vector={t: w / norm for t, w in weights.items()},
        embedding=embedding,
        sentence_embeddings=sentences,
    )
    if kind == "need":
        features.south_south = rng.choice(["none", "prefer", "require"])
    else:
        features.capacity_total = capacity
        features.capacity_left = rng.randint(0, capacity)
        features.regions_served = frozenset(
            rng.sample(["Africa", "Western Africa", "Asia", "Americas"], rng.randint(0, 2))
        )
        if rng.random() < 0.4:
            features.feedback_average, features.feedback_count = rng.uniform(1, 5), rng.randint(1, 6)
    return features


def _config(rng: random.Random, definition: str) -> MatchConfig:
    return MatchConfig(
        weights={name: round(rng.uniform(0.0, 1.0), 3) for name in COMPONENTS},
        context_share=0.35,
        prefer_bonus=0.1,
        candidates_per_need=30,
        stored_per_need=10,
        min_score=0.2,
        definition=definition,
        semantic_range=(0.05, 0.4),
    )


def _one_by_one(need: Features, offers: dict[int, Features], found_ids: list[int], config: MatchConfig, keep):
    """What scoring gave before it was done in bulk: one pair at a time."""
    found = [offers[o] for o in found_ids if o in offers]
    eligible = [offer for offer in found if is_candidate(need, offer, config.definition)]
    pairs = []
    for offer, cosine in zip(eligible, semantic_cosines(need, eligible), strict=True):
        pair = score_pair(
            need,
            offer,
            config.weights,
            config.definition,
            config.prefer_bonus,
            config.context_share,
            with_reasons=False,
            semantic_range=config.semantic_range,
            cosine=cosine,
        )
        pairs.append(pair)
    pairs.sort(key=lambda p: (-p.score, p.offer_id))
    pairs[PLAN_PAIRS_PER_NEED:] = [p for p in pairs[PLAN_PAIRS_PER_NEED:] if (need.id, p.offer_id) in keep]
    had = any(o.country_id != need.country_id or not need.country_id for o in found)
    only_non_ss = (
        need.south_south == "require"
        and had
        and not pairs
        and any(not is_south_south(need, o, config.definition) for o in found if o.country_id != need.country_id)
    )
    return pairs, had, only_non_ss


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("definition", ["g77", "m49"])
def test_bulk_scoring_equals_scoring_pair_by_pair(seed, definition):
    rng = random.Random(seed)
    dim = 8
    offers = {i: _features(rng, "offer", i, dim) for i in range(1, 121)}
    needs = [_features(rng, "need", 1000 + i, dim) for i in range(60)]
    config = _config(rng, definition)
    # Candidates: random offers (some unknown to the run), more than are kept for some needs.
    candidates = {need.id: rng.sample([*offers, 9999], rng.randint(0, 40)) for need in needs}
    keep = frozenset((need.id, o) for need in needs for o in candidates[need.id][:2])
    table = OfferTable(offers, definition)

    bulk = score_needs(needs, offers, candidates, config, keep, table=table)
    compared = 0
    for need in needs:
        expected, had, only_non_ss = _one_by_one(need, offers, candidates[need.id], config, keep)
        got = bulk[need.id]
        assert got.had_candidates == had
        assert got.had_only_non_south_south == only_non_ss
        assert [(p.offer_id, p.score, p.south_south) for p in got.pairs] == [
            (p.offer_id, p.score, p.south_south) for p in expected
        ]
        for mine, theirs in zip(got.pairs, expected, strict=True):
            assert mine.components.keys() == theirs.components.keys()
            for name, value in theirs.components.items():
                if value is None:
                    assert mine.components[name] is None, name
                else:
                    assert mine.components[name] == pytest.approx(value, abs=1e-12), name
            compared += 1
    assert compared > 300  # the random set really exercises the comparison


def test_a_table_built_once_serves_successive_batches_with_new_codes():
    # Later batches bring articles, chapters, States and languages no offer has: the table's
    # code books grow and earlier offers' bits still compare correctly.
    rng = random.Random(11)
    offers = {i: _features(rng, "offer", i, 4) for i in range(1, 40)}
    config = _config(rng, "g77")
    table = OfferTable(offers, "g77")
    for batch in range(3):
        needs = [_features(rng, "need", 100 * (batch + 1) + i, 4) for i in range(20)]
        for need in needs[:5]:
            need.country_id, need.language = f"X{batch}", f"x{batch}"
        candidates = {need.id: list(offers) for need in needs}
        bulk = score_needs(needs, offers, candidates, config, table=table)
        for need in needs:
            expected, _had, _only = _one_by_one(need, offers, candidates[need.id], config, frozenset())
            assert [(p.offer_id, p.score) for p in bulk[need.id].pairs] == [(p.offer_id, p.score) for p in expected]


def test_no_candidates_no_pairs():
    rng = random.Random(5)
    offers = {i: _features(rng, "offer", i, 4) for i in range(1, 5)}
    needs = [_features(rng, "need", 50, 4)]
    result = score_needs(needs, offers, {}, _config(rng, "g77"))
    assert result[50].pairs == []
    assert not result[50].had_candidates
