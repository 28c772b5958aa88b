"""Scoring one (need, offer) pair from named components, with the reasons behind the score.

Each component is a number in [0, 1], or ``None`` when it does not apply (a need with no UNCAC
articles, tagged or derived, says nothing about articles). The score is the weighted mean of the
components that apply, plus a bonus when the need prefers South-South and the pair is, capped at
1. A reason is written for exactly the components that contributed (value > 0) and for the bonus,
strongest first, so the explanation always matches the arithmetic.

Hard rules (a pair is not a candidate at all): a State never matches itself; an offer limited to
some regions does not serve others; a need that requires South-South only gets South-South pairs.
"""

from __future__ import annotations

from dataclasses import dataclass

from matching.features import Features

COMPONENTS = (
    "text",
    "articles",
    "ta_type",
    "thematic",
    "language",
    "south_south",
    "proximity",
    "capacity",
    "feedback",
)
#: A TF-IDF cosine of this much between two short texts is already a strong textual match.
TEXT_SATURATION = 0.4
#: Prior of the provider feedback average (Bayesian): as if rated this much, this many times.
FEEDBACK_PRIOR_MEAN = 3.0
FEEDBACK_PRIOR_COUNT = 2
#: How many shared words a text reason quotes.
TEXT_REASON_WORDS = 4


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


def _overlap(wanted: frozenset, offered: frozenset) -> float | None:
    if not wanted:
        return None
    return len(wanted & offered) / len(wanted)


def score_pair(
    need: Features, offer: Features, weights: dict[str, float], definition: str, prefer_bonus: float
) -> ScoredPair:
    components: dict[str, float | None] = {}
    reasons: list[dict] = []

    shared_terms = sorted(need.vector.keys() & offer.vector.keys(), key=lambda t: -(need.vector[t] * offer.vector[t]))
    cosine = sum(need.vector[t] * offer.vector[t] for t in shared_terms)
    components["text"] = min(1.0, cosine / TEXT_SATURATION)
    if components["text"] > 0:
        words = list(dict.fromkeys(need.surface.get(t, t).lower() for t in shared_terms))[:TEXT_REASON_WORDS]
        reasons.append({"code": "text", "params": {"words": words}})

    if need.articles:
        same = need.articles & offer.articles
        chapter_only = {a for a in need.articles - same if need.chapter_of.get(a) in offer.chapters}
        components["articles"] = (len(same) + 0.5 * len(chapter_only)) / len(need.articles)
        if same:
            reasons.append({"code": "articles", "params": {"articles": sorted(same)}})
        elif chapter_only:
            reasons.append({"code": "chapters", "params": {"chapters": sorted(need.chapters & offer.chapters)}})
    else:
        components["articles"] = None

    components["ta_type"] = _overlap(need.ta_types, offer.ta_types)
    if components["ta_type"]:
        reasons.append({"code": "ta_types", "params": {"ta_types": sorted(need.ta_types & offer.ta_types)}})

    components["thematic"] = _overlap(need.themes, offer.themes)
    if components["thematic"]:
        reasons.append({"code": "themes", "params": {"themes": sorted(need.themes & offer.themes)}})

    shared_languages = need.languages & offer.languages
    components["language"] = 1.0 if shared_languages else 0.0
    if shared_languages:
        language = need.language if need.language in shared_languages else sorted(shared_languages)[0]
        reasons.append(
            {"code": "language", "params": {"language": language, "is_need_language": language == need.language}}
        )

    south_south = is_south_south(need, offer, definition)
    components["south_south"] = 1.0 if south_south else 0.0
    if south_south:
        reasons.append({"code": "south_south", "params": {"definition": definition}})

    components["feedback"] = components.get("feedback")
    if offer.subregion and offer.subregion == need.subregion:
        components["proximity"] = 1.0
        reasons.append({"code": "same_subregion", "params": {"region": need.subregion}})
    elif offer.region and offer.region == need.region:
        components["proximity"] = 0.5
        reasons.append({"code": "same_region", "params": {"region": need.region}})
    else:
        components["proximity"] = 0.0

    components["capacity"] = offer.capacity_left / offer.capacity_total if offer.capacity_total else 0.0
    if components["capacity"]:
        reasons.append({"code": "capacity", "params": {"left": offer.capacity_left, "total": offer.capacity_total}})

    if offer.feedback_count:
        total = offer.feedback_average * offer.feedback_count + FEEDBACK_PRIOR_MEAN * FEEDBACK_PRIOR_COUNT
        components["feedback"] = (total / (offer.feedback_count + FEEDBACK_PRIOR_COUNT) - 1) / 4
        reasons.append(
            {"code": "feedback", "params": {"average": round(offer.feedback_average, 1), "count": offer.feedback_count}}
        )

    applicable = {name: value for name, value in components.items() if value is not None}
    weight_sum = sum(weights[name] for name in applicable)
    base = sum(weights[name] * value for name, value in applicable.items()) / weight_sum if weight_sum else 0.0
    bonus = prefer_bonus if (south_south and need.south_south == "prefer") else 0.0
    if bonus:
        reasons.append({"code": "south_south_preferred", "params": {}})
    contribution = {reason["code"]: _contribution(reason["code"], components, weights) for reason in reasons}
    reasons.sort(key=lambda r: -contribution[r["code"]])
    return ScoredPair(
        need_id=need.id,
        offer_id=offer.id,
        score=round(min(1.0, base + bonus), 4),
        components={k: (None if v is None else round(v, 4)) for k, v in components.items()},
        reasons=reasons,
        south_south=south_south,
    )


#: Which component each reason explains.
REASON_COMPONENT = {
    "text": "text",
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
