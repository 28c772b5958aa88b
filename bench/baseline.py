"""The benchmark's baseline: the same scores as ``matching.scoring`` for every need x offer pair,
computed with plain sparse-matrix code (numpy/scipy), then the same plan.

Same features (``matching.features``), same formula: topical = weighted mean of text (TF-IDF
cosine within a language), articles, TA types and themes (with the tag/derived evidence
strengths); context = weighted mean of language, South-South, proximity, capacity and feedback;
score = topical x (1 - share + share x context) x (1 + bonus). Hard rules (same State, require
South-South, regions served) are masks. It writes nothing.
"""

from __future__ import annotations

import time

import numpy as np
from scipy import sparse

from kb.models import AssistanceNeed, EntryKind, EntryStatus, ExpertiseOffer
from matching.engine import match_config
from matching.features import apply_corpus, corpus_stats_compute, load_features
from matching.plan import PlanNeed, solve
from matching.scoring import EVIDENCE, TEXT_SATURATION

CHUNK = 500
TOP = 20


def _binary(rows: list[frozenset], vocabulary: dict) -> sparse.csr_matrix:
    data, indices, indptr = [], [], [0]
    for items in rows:
        cols = [vocabulary[x] for x in items if x in vocabulary]
        indices += cols
        data += [1.0] * len(cols)
        indptr.append(len(indices))
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), len(vocabulary)), dtype=np.float32)


def _vocab(*collections) -> dict:
    vocabulary: dict = {}
    for rows in collections:
        for items in rows:
            for x in items:
                vocabulary.setdefault(x, len(vocabulary))
    return vocabulary


def _overlap(need_all, need_tags, offer_all, offer_tags):
    """Σ evidence(x) over shared x, per pair, as four sparse products (tagged on both, on one, neither)."""
    vocabulary = _vocab(need_all, offer_all)
    n_all, n_tag = _binary(need_all, vocabulary), _binary(need_tags, vocabulary)
    o_all, o_tag = _binary(offer_all, vocabulary), _binary(offer_tags, vocabulary)
    n_der, o_der = n_all - n_tag, o_all - o_tag
    both = (n_tag @ o_tag.T).toarray()
    one = (n_tag @ o_der.T).toarray() + (n_der @ o_tag.T).toarray()
    none = (n_der @ o_der.T).toarray()
    return EVIDENCE[0] * both + EVIDENCE[1] * one + EVIDENCE[2] * none


def baseline_run() -> dict:
    started = time.perf_counter()
    config = match_config()
    offer_ids = list(ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).values_list("id", flat=True))
    need_ids = list(AssistanceNeed.objects.filter(status=EntryStatus.PUBLISHED).values_list("id", flat=True))
    offers = load_features(EntryKind.OFFER, offer_ids)
    needs = load_features(EntryKind.NEED, need_ids)
    idf = corpus_stats_compute(offers)
    apply_corpus(offers, idf)
    apply_corpus(needs, idf)
    features_done = time.perf_counter()

    O = [offers[i] for i in offers]  # noqa: E741 - the offers, as in the maths
    vocabulary = _vocab([o.vector.keys() for o in O], [n.vector.keys() for n in needs.values()])

    def tfidf(rows):
        data, indices, indptr = [], [], [0]
        for f in rows:
            for term, weight in f.vector.items():
                indices.append(vocabulary[term])
                data.append(weight)
            indptr.append(len(indices))
        return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), len(vocabulary)), dtype=np.float32)

    offer_text = tfidf(O).T.tocsr()
    w = config.weights
    o_lang = np.array([o.language for o in O])
    o_country = np.array([o.country_id for o in O])
    o_south = np.array([o.global_south(config.definition) and bool(o.country_id) for o in O])
    o_sub = np.array([o.subregion for o in O])
    o_reg = np.array([o.region for o in O])
    o_capacity = np.array([o.capacity_left / o.capacity_total if o.capacity_total else 0.0 for o in O])
    o_regions = [o.regions_served for o in O]
    language_vocab = _vocab([o.languages for o in O], [n.languages for n in needs.values()])
    article_vocab = _vocab([o.articles for o in O], [n.article_tags for n in needs.values()])
    o_articles = _binary([o.articles for o in O], article_vocab)
    o_article_tagged = np.array([bool(o.article_tags) for o in O])
    chapter_codes = sorted(
        {c for o in O for c in o.chapters} | {c for n in needs.values() for c in n.chapter_of.values()}
    )
    o_chapters = _binary([o.chapters for o in O], {c: i for i, c in enumerate(chapter_codes)})
    o_languages = _binary([o.languages for o in O], language_vocab)
    pairs_scored = 0
    kept: list[tuple[int, int, float]] = []
    need_list = list(needs.values())
    for start in range(0, len(need_list), CHUNK):
        chunk = need_list[start : start + CHUNK]
        n_lang = np.array([n.language for n in chunk])
        same_language = n_lang[:, None] == o_lang[None, :]
        text = np.minimum(1.0, (tfidf(chunk) @ offer_text).toarray() / TEXT_SATURATION)
        art_tags = [n.article_tags for n in chunk]
        has_articles = np.array([bool(a) for a in art_tags])
        article_count = np.array([max(1, len(a)) for a in art_tags])
        same = (_binary(art_tags, article_vocab) @ o_articles.T).toarray()
        # Articles of the need whose chapter the offer covers, minus the exact matches.
        chapter_counts = sparse.csr_matrix(
            np.array(
                [[sum(1 for a in n.article_tags if n.chapter_of.get(a) == c) for c in chapter_codes] for n in chunk],
                dtype=np.float32,
            )
        )
        chapter_only = (chapter_counts @ o_chapters.T).toarray() - same
        strength = np.where(o_article_tagged[None, :], EVIDENCE[0], EVIDENCE[1])
        articles = strength * (same + 0.5 * chapter_only) / article_count[:, None]
        ta = _overlap(
            [n.ta_types for n in chunk],
            [n.ta_type_tags for n in chunk],
            [o.ta_types for o in O],
            [o.ta_type_tags for o in O],
        )
        ta_count = np.array([len(n.ta_types) for n in chunk])
        th = _overlap(
            [n.themes for n in chunk], [n.theme_tags for n in chunk], [o.themes for o in O], [o.theme_tags for o in O]
        )
        th_count = np.array([len(n.themes) for n in chunk])
        language = (_binary([n.languages for n in chunk], language_vocab) @ o_languages.T).toarray() > 0
        n_south = np.array([n.global_south(config.definition) for n in chunk])
        south = n_south[:, None] & o_south[None, :]
        n_sub = np.array([n.subregion for n in chunk])
        n_reg = np.array([n.region for n in chunk])
        proximity = np.where(
            n_sub[:, None] == o_sub[None, :], 1.0, np.where(n_reg[:, None] == o_reg[None, :], 0.5, 0.0)
        )

        topical_num = np.where(same_language, w["text"] * text, 0.0)
        topical_den = np.where(same_language, w["text"], 0.0)
        topical_num = topical_num + np.where(has_articles[:, None], w["articles"] * articles, 0.0)
        topical_den = topical_den + np.where(has_articles[:, None], w["articles"], 0.0)
        topical_num = topical_num + np.where(
            ta_count[:, None] > 0, w["ta_type"] * ta / np.maximum(ta_count, 1)[:, None], 0.0
        )
        topical_den = topical_den + np.where(ta_count[:, None] > 0, w["ta_type"], 0.0)
        topical_num = topical_num + np.where(
            th_count[:, None] > 0, w["thematic"] * th / np.maximum(th_count, 1)[:, None], 0.0
        )
        topical_den = topical_den + np.where(th_count[:, None] > 0, w["thematic"], 0.0)
        topical = np.divide(topical_num, topical_den, out=np.zeros_like(topical_num), where=topical_den > 0)
        context = (
            w["language"] * language
            + w["south_south"] * south
            + w["proximity"] * proximity
            + w["capacity"] * o_capacity[None, :]
        ) / (w["language"] + w["south_south"] + w["proximity"] + w["capacity"])
        prefer = np.array([n.south_south == "prefer" for n in chunk])
        bonus = np.where(prefer[:, None] & south, config.prefer_bonus, 0.0)
        score = np.minimum(1.0, topical * (1 - config.context_share + config.context_share * context) * (1 + bonus))

        n_country = np.array([n.country_id for n in chunk])
        allowed = n_country[:, None] != o_country[None, :]
        require = np.array([n.south_south == "require" for n in chunk])
        allowed &= ~require[:, None] | south
        for j, regions in enumerate(o_regions):
            if regions:
                allowed[:, j] &= np.array([bool({n.region, n.subregion} & regions) for n in chunk])
        score = np.where(allowed, score, -1.0)
        pairs_scored += score.size
        top = np.argpartition(-score, min(TOP, score.shape[1] - 1), axis=1)[:, :TOP]
        for i, n in enumerate(chunk):
            for j in top[i]:
                if score[i, j] >= config.min_score:
                    kept.append((n.id, O[j].id, float(score[i, j])))
    scores_done = time.perf_counter()
    plan = solve(
        {n.id: PlanNeed(n.providers_wanted, n.priority) for n in need_list},
        {o.id: o.capacity_left for o in O},
        kept,
    )
    finished = time.perf_counter()
    return {
        "features": features_done - started,
        "scores": scores_done - features_done,
        "plan": plan.seconds,
        "total": finished - started,
        "pairs": pairs_scored,
        "assigned": len(plan.assigned),
    }
