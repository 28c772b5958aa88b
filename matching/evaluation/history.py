"""The knowledge base's own history as a judged set, to measure and re-fit matching on it.

Every need some proposal was decided on becomes a judgment:
- relevant (``offer_ids``, best first): engagements the provider accepted and that went on
  (accepted, agreed, in progress, completed), and proposals the recipient showed interest in;
  a completed engagement counts by the recipient's rating (``grades``: the rating, 1–5; other
  relevant pairs grade 3, the prior of the feedback component);
- not relevant (``negative_offer_ids``): proposals the recipient dismissed and the provider declined.
  (Cancelled engagements say nothing about the match and are left out.)

Entries are written in the dev set's format (``docs/MATCHING.md``), with the external ids as ids,
so ``evaluate_matching`` and ``fit_matching`` read it like the dev set.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.db.models import Prefetch

from kb.models import AssistanceNeed, ExpertiseOffer
from matching.evaluation.judged_set import JudgedSet, Judgment
from matching.models import Engagement, EngagementRating, EngagementState, RatingSide

RELEVANT_STATES = (
    EngagementState.INTERESTED,
    EngagementState.ACCEPTED,
    EngagementState.AGREED,
    EngagementState.IN_PROGRESS,
    EngagementState.COMPLETED,
)
NEGATIVE_STATES = (EngagementState.DISMISSED, EngagementState.DECLINED)
DEFAULT_GRADE = 3.0


def _entry_id(entry) -> str:
    return entry.external_id or f"{'O' if isinstance(entry, ExpertiseOffer) else 'N'}-{entry.pk}"


def history_judgments() -> JudgedSet:
    """The judged set of every need with a decided proposal, and the entries it involves."""
    engagements = (
        Engagement.objects.filter(state__in=(*RELEVANT_STATES, *NEGATIVE_STATES))
        .select_related("need__country", "offer__organisation__country")
        .prefetch_related(
            Prefetch(
                "ratings", queryset=EngagementRating.objects.filter(side=RatingSide.RECIPIENT), to_attr="recipient"
            )
        )
        .order_by("need_id", "offer_id", "id")
    )
    relevant: dict[int, dict[int, float]] = {}
    negative: dict[int, set[int]] = {}
    needs: dict[int, AssistanceNeed] = {}
    offers: dict[int, ExpertiseOffer] = {}
    for engagement in engagements:
        needs[engagement.need_id] = engagement.need
        offers[engagement.offer_id] = engagement.offer
        if engagement.state in NEGATIVE_STATES:
            negative.setdefault(engagement.need_id, set()).add(engagement.offer_id)
            continue
        grade = float(engagement.recipient[0].score) if engagement.recipient else DEFAULT_GRADE
        grades = relevant.setdefault(engagement.need_id, {})
        grades[engagement.offer_id] = max(grade, grades.get(engagement.offer_id, 0.0))
    judgments = {}
    for need_id, need in needs.items():
        grades = relevant.get(need_id, {})
        ranked = sorted(grades, key=lambda o: (-grades[o], o))
        bad = sorted(negative.get(need_id, set()) - set(grades))
        judgments[_entry_id(need)] = Judgment(
            need_id=_entry_id(need),
            offer_ids=tuple(_entry_id(offers[o]) for o in ranked),
            negative_offer_ids=tuple(_entry_id(offers[o]) for o in bad),
            grades={_entry_id(offers[o]): grades[o] for o in ranked},
        )
    return JudgedSet(
        needs=[_need_row(n) for n in needs.values()],
        offers=[_offer_row(o) for o in offers.values()],
        judgments=judgments,
    )


def _codes(entry, relation: str) -> list[str]:
    return sorted(getattr(entry, relation).values_list("code", flat=True))


def _need_row(need: AssistanceNeed) -> dict:
    return {
        "id": _entry_id(need),
        "country": need.country.name,
        "iso3": need.country.iso3,
        "lang": need.language_id,
        "title": need.title,
        "text": need.description,
        "articles": sorted(need.articles.values_list("number", flat=True)),
        "ta_types": _codes(need, "ta_types"),
        "thematic_areas": _codes(need, "thematic_areas"),
        "priority": need.priority,
        "south_south": need.south_south,
    }


def _offer_row(offer: ExpertiseOffer) -> dict:
    country = offer.organisation.country
    return {
        "id": _entry_id(offer),
        "provider": offer.organisation.name,
        "iso3": country.iso3 if country else None,
        "lang": offer.language_id,
        "title": offer.title,
        "text": offer.description,
        "articles": sorted(offer.articles.values_list("number", flat=True)),
        "areas": list(offer.keywords or []),
        "ta_types": _codes(offer, "ta_types"),
        "thematic_areas": _codes(offer, "thematic_areas"),
        "capacity": offer.capacity,
    }


def judged_set_write(judged: JudgedSet, directory: str | Path) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)

    def write(name: str, rows: list[dict]) -> None:
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        (directory / name).write_text(text, encoding="utf-8")

    write("needs.jsonl", judged.needs)
    write("offers.jsonl", judged.offers)
    write(
        "judgments.jsonl",
        [
            {
                "need_id": j.need_id,
                "offer_ids": list(j.offer_ids),
                "negative_offer_ids": list(j.negative_offer_ids),
                "grades": j.grades,
            }
            for j in judged.judgments.values()
        ],
    )
