"""Scoring one (need, offer) pair from named components, with the reasons behind the score.

Each component is a number in [0, 1], or ``None`` when it does not apply (a need with no UNCAC
articles, tagged or derived, says nothing about articles). Components are of two kinds:

- *topical* — text, semantic, articles, TA type, thematic area: is the offer about what the need
  asks? ``text`` compares words within one language; ``semantic`` compares meaning in any language
  (the encoder's vectors, centred on the corpus and calibrated, see ``semantic_strength``);
- *context* — shared language, South-South, same sub-region/region, capacity left, feedback:
  how well would the engagement work?

    topical = weighted mean of the topical components that apply
    context = weighted mean of the context components that apply
    score   = topical × (1 − context_share + context_share × context) × (1 + bonus)

so context can lift or lower a pair by up to ``context_share`` but never make an off-topic offer a
good match; ``bonus`` applies when the need prefers South-South and the pair is South-South.
Evidence from tags is stronger than evidence from concepts found in the text: an overlap counts
1 when tagged on both sides, 0.75 when tagged on one, 0.5 when only derived on both.

A reason is written for exactly the components that contributed (value > 0) and for the bonus,
strongest first, so the explanation always matches the arithmetic.

Hard rules (a pair is not a candidate at all): a State never matches itself; an offer limited to
some regions does not serve others; a need that requires South-South only gets South-South pairs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from matching.features import Features

TOPICAL = ("text", "semantic", "articles", "ta_type", "thematic")
CONTEXT = ("language", "south_south", "proximity", "capacity", "feedback")
COMPONENTS = TOPICAL + CONTEXT
#: Strength of an overlap by where it comes from: (tagged on both, on one side, derived on both).
EVIDENCE = (1.0, 0.75, 0.5)
#: A TF-IDF cosine of this much between two short texts is already a strong textual match.
TEXT_SATURATION = 0.4
#: Prior of the provider feedback average (Bayesian): as if rated this much, this many times.
FEEDBACK_PRIOR_MEAN = 3.0
FEEDBACK_PRIOR_COUNT = 2
#: How many shared words a text reason quotes.
TEXT_REASON_WORDS = 4
#: An article of the other side's chapter counts this much of an article in common.
CHAPTER_CREDIT = 0.25
#: Centred cosines of the encoder mapped to [0, 1]: (floor → 0, ceiling → 1); fitted per encoder.
DEFAULT_SEMANTIC_RANGE = (0.0, 0.3)


@dataclass
class ScoredPair:
    need_id: int
    offer_id: int
    score: float
    components: dict[str, float | None]
    reasons: list[dict]
    south_south: bool


def is_candidate(need: Features, offer: Features, definition: str) -> bool:
    if need.country_id and need.country_id == offer.country_id:
        return False
    if offer.regions_served and not ({need.region, need.subregion} & offer.regions_served):
        return False
    if need.south_south == "require" and not is_south_south(need, offer, definition):
        return False
    return True


def is_south_south(need: Features, offer: Features, definition: str) -> bool:
    return bool(offer.country_id) and need.global_south(definition) and offer.global_south(definition)


def _evidence(in_need_tags: bool, in_offer_tags: bool) -> float:
    return EVIDENCE[2 - int(in_need_tags) - int(in_offer_tags)]


def _overlap(wanted: frozenset, offered: frozenset, wanted_tags: frozenset, offered_tags: frozenset) -> float | None:
    if not wanted:
        return None
    shared = wanted & offered
    if not shared:
        return 0.0
    # Each shared item counts by its evidence (see EVIDENCE): tagged on both sides, on one, on none.
    both = len(shared & wanted_tags & offered_tags)
    one = len(shared & (wanted_tags | offered_tags)) - both
    none = len(shared) - both - one
    return (EVIDENCE[0] * both + EVIDENCE[1] * one + EVIDENCE[2] * none) / len(wanted)


def semantic_strength(
    need: Features, offer: Features, semantic_range: tuple[float, float], cosine: float | None = None
) -> float | None:
    """How close the two texts are in meaning: their centred cosine, calibrated to [0, 1].

    The vectors are the encoder's, centred on the corpus mean (``features.apply_corpus``):
    every entry here is about anti-corruption, so raw cosines sit in a narrow band and centring
    spreads them. None when either side has no vector (the ``none`` encoder, or not computed yet).
    """
    if cosine is None:
        cosine = semantic_cosine(need, offer)
    if cosine is None:
        return None
    floor, ceiling = semantic_range
    return min(1.0, max(0.0, (cosine - floor) / max(ceiling - floor, 1e-6)))


def semantic_cosine(need: Features, offer: Features) -> float | None:
    """The need's text against the offer's closest sentence (its keywords and themes count as one);
    the whole texts when the offer has no sentences. None without vectors."""
    if need.embedding is None or offer.embedding is None:
        return None
    return semantic_cosines(need, [offer])[0]


def semantic_cosines(need: Features, offers: list[Features]) -> list[float | None]:
    """``semantic_cosine`` for many offers of one need in one matrix product (a full run scores
    hundreds of thousands of pairs); sentence vectors are kept as float16 and computed in float32."""
    if need.embedding is None:
        return [None] * len(offers)
    dim = len(need.embedding)
    blocks, owners = [], []
    for position, offer in enumerate(offers):
        if offer.embedding is None:
            continue
        sentences = offer.sentence_embeddings
        block = sentences if sentences is not None and len(sentences) and sentences.shape[1] == dim else None
        block = offer.embedding[None, :] if block is None else block
        blocks.append(block)
        owners.append((position, len(block)))
    result: list[float | None] = [None] * len(offers)
    if not blocks:
        return result
    similarities = np.concatenate(blocks).astype(np.float32) @ need.embedding.astype(np.float32)
    start = 0
    for position, rows in owners:
        result[position] = float(similarities[start : start + rows].max())
        start += rows
    return result


def article_overlap(need: Features, offer: Features) -> float | None:
    """How well the UNCAC articles agree: the geometric mean of *coverage* (the share of the need's
    articles the offer has) and *focus* (the share of the offer's articles the need asks about),
    an article of the other side's chapter counting ``CHAPTER_CREDIT``; weighted by evidence (the
    need's own tags against the offer's tags, or against articles derived from its themes).

    Focus keeps an offer tagged with twenty articles from matching every need equally well.
    The need's own tags only: articles inferred from its themes would count the thematic evidence
    twice. None when the need has no article tags.
    """
    wanted = need.article_tags
    if not wanted:
        return None
    offered = offer.articles
    if not offered:
        return 0.0
    same = wanted & offered
    wanted_chapters = {need.chapter_of.get(a) for a in wanted}
    near_need = sum(1 for a in wanted - same if need.chapter_of.get(a) in offer.chapters)
    near_offer = sum(1 for a in offered - same if offer.chapter_of.get(a) in wanted_chapters)
    coverage = (len(same) + CHAPTER_CREDIT * near_need) / len(wanted)
    focus = (len(same) + CHAPTER_CREDIT * near_offer) / len(offered)
    return _evidence(True, bool(offer.article_tags)) * math.sqrt(coverage * focus)


def components_of(
    need: Features,
    offer: Features,
    definition: str,
    semantic_range: tuple[float, float] = DEFAULT_SEMANTIC_RANGE,
    cosine: float | None = None,
) -> dict[str, float | None]:
    """The named components of a pair (see the module docstring), each in [0, 1] or None."""
    components: dict[str, float | None] = {}
    if need.language == offer.language:
        need_vector, offer_vector = need.vector, offer.vector
        text_cosine = sum([need_vector[t] * offer_vector[t] for t in need_vector.keys() & offer_vector.keys()])
        components["text"] = min(1.0, text_cosine / TEXT_SATURATION)
    else:
        # Word overlap says nothing between texts in two languages; concepts and tags carry the
        # comparison, so the pair is not penalised for being cross-language.
        components["text"] = None

    components["semantic"] = semantic_strength(need, offer, semantic_range, cosine)
    components["articles"] = article_overlap(need, offer)
    components["ta_type"] = _overlap(need.ta_types, offer.ta_types, need.ta_type_tags, offer.ta_type_tags)
    components["thematic"] = _overlap(need.themes, offer.themes, need.theme_tags, offer.theme_tags)

    components["language"] = 1.0 if need.languages & offer.languages else 0.0
    components["south_south"] = 1.0 if is_south_south(need, offer, definition) else 0.0
    if offer.subregion and offer.subregion == need.subregion:
        components["proximity"] = 1.0
    elif offer.region and offer.region == need.region:
        components["proximity"] = 0.5
    else:
        components["proximity"] = 0.0
    components["capacity"] = offer.capacity_left / offer.capacity_total if offer.capacity_total else 0.0
    if offer.feedback_count and offer.feedback_average is not None:  # an average of at least one rating
        total = offer.feedback_average * offer.feedback_count + FEEDBACK_PRIOR_MEAN * FEEDBACK_PRIOR_COUNT
        components["feedback"] = (total / (offer.feedback_count + FEEDBACK_PRIOR_COUNT) - 1) / 4
    else:
        components["feedback"] = None
    return components


def score_of(components: dict, weights: dict[str, float], context_share: float, bonus: float) -> float:
    topical = _weighted_mean(components, weights, TOPICAL)
    context = _weighted_mean(components, weights, CONTEXT)
    return round(min(1.0, topical * (1 - context_share + context_share * context) * (1 + bonus)), 4)


def explain(
    need: Features,
    offer: Features,
    components: dict,
    weights: dict[str, float],
    definition: str,
    bonus: float,
    closest_sentence: str | None = None,
) -> list[dict]:
    """The reasons for exactly the components that contributed, strongest first.

    ``closest_sentence``: the offer's sentence closest in meaning to the need (quoted as written
    by the semantic reason; without one it says the texts are close in meaning).
    """
    reasons: list[dict] = []
    if components["semantic"]:
        params = {"sentence": closest_sentence, "language": offer.language} if closest_sentence else {}
        reasons.append({"code": "semantic", "params": params})
    if components["text"]:
        need_vector, offer_vector = need.vector, offer.vector
        # Strongest shared terms first; ties by term, so a reason reads the same in every run.
        shared = sorted(need_vector.keys() & offer_vector.keys(), key=lambda t: (-need_vector[t] * offer_vector[t], t))
        del shared[TEXT_REASON_WORDS * 2 :]
        words = list(dict.fromkeys(need.surface.get(t, t).lower() for t in shared))[:TEXT_REASON_WORDS]
        reasons.append({"code": "text", "params": {"words": words}})
    if components["articles"]:
        same = need.article_tags & offer.articles
        if same:
            reasons.append({"code": "articles", "params": {"articles": sorted(same)}})
        else:
            chapters = {need.chapter_of[a] for a in need.article_tags if need.chapter_of.get(a) in offer.chapters}
            reasons.append({"code": "chapters", "params": {"chapters": sorted(chapters)}})
    if components["ta_type"]:
        reasons.append({"code": "ta_types", "params": {"ta_types": sorted(need.ta_types & offer.ta_types)}})
    if components["thematic"]:
        reasons.append({"code": "themes", "params": {"themes": sorted(need.themes & offer.themes)}})
    if components["language"]:
        shared_languages = need.languages & offer.languages
        language = need.language if need.language in shared_languages else sorted(shared_languages)[0]
        reasons.append(
            {"code": "language", "params": {"language": language, "is_need_language": language == need.language}}
        )
    if components["south_south"]:
        reasons.append({"code": "south_south", "params": {"definition": definition}})
    if components["proximity"] == 1.0:
        reasons.append({"code": "same_subregion", "params": {"region": need.subregion}})
    elif components["proximity"]:
        reasons.append({"code": "same_region", "params": {"region": need.region}})
    if components["capacity"]:
        reasons.append({"code": "capacity", "params": {"left": offer.capacity_left, "total": offer.capacity_total}})
    if components["feedback"] is not None and offer.feedback_average is not None:
        reasons.append(
            {"code": "feedback", "params": {"average": round(offer.feedback_average, 1), "count": offer.feedback_count}}
        )
    if bonus:
        reasons.append({"code": "south_south_preferred", "params": {}})
    contribution = {reason["code"]: _contribution(reason["code"], components, weights) for reason in reasons}
    reasons.sort(key=lambda r: -contribution[r["code"]])
    return reasons


def score_pair(
    need: Features,
    offer: Features,
    weights: dict[str, float],
    definition: str,
    prefer_bonus: float,
    context_share: float = 0.35,
    with_reasons: bool = True,
    semantic_range: tuple[float, float] = DEFAULT_SEMANTIC_RANGE,
    cosine: float | None = None,
) -> ScoredPair:
    """``cosine``: the pair's semantic cosine when the caller computed it in bulk."""
    components = components_of(need, offer, definition, semantic_range, cosine)
    south_south = bool(components["south_south"])
    bonus = prefer_bonus if (south_south and need.south_south == "prefer") else 0.0
    return ScoredPair(
        need_id=need.id,
        offer_id=offer.id,
        score=score_of(components, weights, context_share, bonus),
        components={k: (None if v is None else round(v, 4)) for k, v in components.items()},
        reasons=explain(need, offer, components, weights, definition, bonus) if with_reasons else [],
        south_south=south_south,
    )


def _weighted_mean(components: dict, weights: dict, names: tuple[str, ...]) -> float:
    total = weighted = 0.0
    for name in names:
        value = components[name]
        if value is not None:
            weight = weights[name]
            total += weight
            weighted += weight * value
    return weighted / total if total else 0.0


#: Which component each reason explains.
REASON_COMPONENT = {
    "text": "text",
    "semantic": "semantic",
    "articles": "articles",
    "chapters": "articles",
    "ta_types": "ta_type",
    "themes": "thematic",
    "language": "language",
    "south_south": "south_south",
    "south_south_preferred": "south_south",
    "same_subregion": "proximity",
    "same_region": "proximity",
    "capacity": "capacity",
    "feedback": "feedback",
}


def _contribution(code: str, components: dict, weights: dict) -> float:
    if code == "south_south_preferred":
        # Stated right after the South-South reason it builds on.
        return weights["south_south"] * (components["south_south"] or 0.0) - 1e-9
    name = REASON_COMPONENT[code]
    return weights[name] * (components[name] or 0.0)
