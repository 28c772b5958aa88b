"""Scoring one pair: named components, the hard rules, and reasons that match the arithmetic."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from matching.features import Features
from matching.scoring import COMPONENTS, REASON_COMPONENT, is_candidate, score_pair

WEIGHTS = dict.fromkeys(COMPONENTS, 1.0)


def features(**overrides) -> Features:
    base = {
        "kind": "offer",
        "id": 1,
        "title": "t",
        "language": "en",
        "languages": frozenset({"en"}),
        "country_id": "RWA",
        "region": "Africa",
        "subregion": "Eastern Africa",
        "g77": True,
        "m49_developing": True,
        "articles": frozenset(),
        "article_tags": frozenset(),
        "chapters": frozenset(),
        "chapter_of": {},
        "ta_types": frozenset(),
        "themes": frozenset(),
        "ta_type_tags": frozenset(),
        "theme_tags": frozenset(),
        "concepts": frozenset(),
        "counts": Counter(),
        "surface": {},
        "vector": {},
        "capacity_total": 4,
        "capacity_left": 4,
    }
    base.update(overrides)
    return Features(**base)


def need(**overrides) -> Features:
    values = {
        "kind": "need",
        "id": 10,
        "country_id": "CIV",
        "subregion": "Western Africa",
        "language": "fr",
        "languages": frozenset({"fr"}),
    }
    return features(**{**values, **overrides})


def test_components_are_named_and_reasons_match_them():
    n = need(
        articles=frozenset({8, 52}),
        article_tags=frozenset({8, 52}),
        chapters=frozenset({2, 5}),
        chapter_of={8: 2, 52: 5},
        themes=frozenset({"asset_declarations"}),
        theme_tags=frozenset({"asset_declarations"}),
        ta_types=frozenset({"capacity_building"}),
        ta_type_tags=frozenset({"capacity_building"}),
        vector={"declar": 0.8, "patrimoin": 0.6},
        surface={"declar": "déclarations", "patrimoin": "patrimoine"},
        south_south="prefer",
    )
    o = features(
        articles=frozenset({8}),
        article_tags=frozenset({8}),
        chapters=frozenset({2}),
        chapter_of={8: 2},
        themes=frozenset({"asset_declarations", "gender_equality"}),
        theme_tags=frozenset({"asset_declarations"}),
        ta_types=frozenset({"capacity_building"}),
        ta_type_tags=frozenset({"capacity_building"}),
        language="fr",
        vector={"declar": 1.0},
        languages=frozenset({"en", "fr"}),
        capacity_left=3,
    )
    pair = score_pair(n, o, WEIGHTS, "g77", prefer_bonus=0.1)
    assert set(pair.components) == set(COMPONENTS)
    # Coverage ½ (art. 8 exact; art. 52's chapter V not offered), focus 1 (all the offer's
    # articles are asked for): their geometric mean.
    assert pair.components["articles"] == pytest.approx(0.7071, abs=1e-4)
    assert pair.components["thematic"] == 1.0
    assert pair.components["ta_type"] == 1.0
    assert pair.components["language"] == 1.0
    assert pair.components["south_south"] == 1.0
    assert pair.components["proximity"] == 0.5  # same region, other sub-region
    assert pair.components["capacity"] == 0.75
    assert pair.components["feedback"] is None  # no ratings yet: does not apply
    # Every reason explains a component that contributed, and every contributing one is explained.
    explained = {REASON_COMPONENT[r["code"]] for r in pair.reasons}
    contributed = {name for name, value in pair.components.items() if value}
    assert explained == contributed
    codes = [r["code"] for r in pair.reasons]
    assert "south_south_preferred" in codes
    assert codes.index("south_south_preferred") == codes.index("south_south") + 1
    text = next(r for r in pair.reasons if r["code"] == "text")
    assert text["params"]["words"] == ["déclarations"]
    language = next(r for r in pair.reasons if r["code"] == "language")
    assert language["params"] == {"language": "fr", "is_need_language": True}


def test_score_is_topical_relevance_moved_by_context_and_the_bonus():
    from matching.scoring import CONTEXT, TOPICAL

    n = need(south_south="prefer", vector={"declar": 1.0}, language="fr")
    o = features(capacity_left=2, vector={"declar": 0.1, "other": 0.995}, language="fr")
    pair = score_pair(n, o, WEIGHTS, "g77", prefer_bonus=0.1, context_share=0.4)

    def mean(names):
        values = [pair.components[k] for k in names if pair.components[k] is not None]
        return sum(values) / len(values)

    expected = mean(TOPICAL) * (1 - 0.4 + 0.4 * mean(CONTEXT)) * 1.1
    assert pair.score == pytest.approx(expected, abs=1e-3)
    no_bonus = score_pair(need(south_south="none", vector={"declar": 1.0}, language="fr"), o, WEIGHTS, "g77", 0.1, 0.4)
    assert pair.score == pytest.approx(no_bonus.score * 1.1, abs=1e-3)


def test_context_never_makes_an_off_topic_offer_a_match():
    n = need(vector={"declar": 1.0}, language="fr", south_south="prefer")
    off_topic = features(vector={"procur": 1.0}, language="fr", languages=frozenset({"fr"}), subregion="Western Africa")
    pair = score_pair(n, off_topic, WEIGHTS, "g77", prefer_bonus=0.15)
    assert pair.components["language"] == pair.components["proximity"] == pair.components["south_south"] == 1.0
    assert pair.score == 0.0


def test_text_similarity_does_not_apply_across_languages():
    pair = score_pair(need(vector={"declar": 1.0}), features(vector={"asset": 1.0}, language="en"), WEIGHTS, "g77", 0)
    assert pair.components["text"] is None


def test_tags_are_stronger_evidence_than_concepts_found_in_text():
    n = need(themes=frozenset({"asset_declarations"}))
    derived = score_pair(n, features(themes=frozenset({"asset_declarations"})), WEIGHTS, "g77", 0)
    one_tagged = score_pair(
        n,
        features(themes=frozenset({"asset_declarations"}), theme_tags=frozenset({"asset_declarations"})),
        WEIGHTS,
        "g77",
        0,
    )
    assert (derived.components["thematic"], one_tagged.components["thematic"]) == (0.5, 0.75)


def test_articles_of_the_same_chapter_count_a_quarter():
    n = need(articles=frozenset({9}), article_tags=frozenset({9}), chapters=frozenset({2}), chapter_of={9: 2})

    def offer(article, chapter):
        return features(
            articles=frozenset({article}),
            article_tags=frozenset({article}),
            chapters=frozenset({chapter}),
            chapter_of={article: chapter},
        )

    same = score_pair(n, offer(9, 2), WEIGHTS, "g77", 0)
    chapter = score_pair(n, offer(12, 2), WEIGHTS, "g77", 0)
    none = score_pair(n, offer(30, 3), WEIGHTS, "g77", 0)
    assert (same.components["articles"], chapter.components["articles"], none.components["articles"]) == (
        1.0,
        0.25,
        0.0,
    )
    assert [r["code"] for r in chapter.reasons if r["code"] in ("articles", "chapters")] == ["chapters"]


def test_an_offer_about_everything_matches_less_than_a_focused_one():
    n = need(articles=frozenset({8}), article_tags=frozenset({8}), chapters=frozenset({2}), chapter_of={8: 2})
    many = frozenset({8, 15, 16, 23, 36, 46, 51})
    chapters = {8: 2, 15: 3, 16: 3, 23: 3, 36: 3, 46: 4, 51: 5}
    broad = features(articles=many, article_tags=many, chapters=frozenset(chapters.values()), chapter_of=chapters)
    focused = features(articles=frozenset({8}), article_tags=frozenset({8}), chapters=frozenset({2}), chapter_of={8: 2})
    broad_pair, focused_pair = (score_pair(n, o, WEIGHTS, "g77", 0) for o in (broad, focused))
    assert focused_pair.components["articles"] == 1.0
    assert broad_pair.components["articles"] == pytest.approx((1 / 7) ** 0.5, abs=1e-4)


def test_feedback_uses_a_prior():
    n = need()
    good = score_pair(n, features(feedback_average=5.0, feedback_count=1), WEIGHTS, "g77", 0)
    many = score_pair(n, features(feedback_average=5.0, feedback_count=20), WEIGHTS, "g77", 0)
    assert 0.5 < good.components["feedback"] < many.components["feedback"] < 1.0


def test_a_state_never_matches_itself():
    assert not is_candidate(need(country_id="CIV"), features(country_id="CIV"), "g77")
    assert is_candidate(need(country_id="CIV"), features(country_id="RWA"), "g77")


def test_require_south_south_is_a_hard_rule_under_the_configured_definition():
    n = need(south_south="require")
    korea = features(country_id="KOR", g77=False, m49_developing=True)
    assert not is_candidate(n, korea, "g77")
    assert is_candidate(n, korea, "m49")
    international = features(country_id="", g77=False, m49_developing=False)
    assert not is_candidate(n, international, "g77")


def test_regions_served_limit_the_offer():
    n = need()
    assert not is_candidate(n, features(regions_served=frozenset({"Asia"})), "g77")
    assert is_candidate(n, features(regions_served=frozenset({"Western Africa"})), "g77")
    assert is_candidate(n, features(regions_served=frozenset({"Africa"})), "g77")


def test_south_south_reason_names_the_definition():
    pair = score_pair(need(), features(), WEIGHTS, "m49", 0)
    assert {"code": "south_south", "params": {"definition": "m49"}} in pair.reasons


def test_text_reason_quotes_the_strongest_shared_words_ties_in_term_order():
    # Equal products tie: the quoted words must not depend on set iteration order (hash seed).
    vector = dict.fromkeys(("zeta", "alpha", "mid", "beta"), 0.5)
    n = need(language="en", vector=vector, surface={t: t.upper() for t in vector})
    o = features(language="en", vector=dict(vector))
    pair = score_pair(n, o, WEIGHTS, "g77", 0)
    text = next(r for r in pair.reasons if r["code"] == "text")
    assert text["params"]["words"] == ["alpha", "beta", "mid", "zeta"]


def test_semantic_component_is_the_vectors_cosine_not_the_text_one():
    # Same language, identical words, unrelated meaning vectors: the text component is full and
    # the semantic one is the vectors' (zero), never the words' cosine counted a second time.
    words = {"declar": 0.8, "patrimoin": 0.6}
    n = need(language="fr", vector=dict(words), embedding=np.array([1.0, 0.0], np.float32))
    o = features(language="fr", vector=dict(words), embedding=np.array([0.0, 1.0], np.float32))
    pair = score_pair(n, o, WEIGHTS, "g77", 0, semantic_range=(0.0, 0.3))
    assert pair.components["text"] == 1.0
    assert pair.components["semantic"] == 0.0
    assert "semantic" not in {r["code"] for r in pair.reasons}
