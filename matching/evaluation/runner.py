"""Loading a judged set into the current database, running matching on it, and the anchors.

Meant for a scratch database (``evaluate_matching`` makes one): it imports the set's entries as
published, computes their vectors, runs one full matching run on the configured search backend and
reads the stored candidates back by external id. Two anchors rank the same pairs without the
product's scorer, so every number has a comparison beside it:

- ``taxonomy``: UNCAC article-tag overlap (each of the need's articles 1 if the offer is tagged with
  it, ½ if with another article of its chapter; averaged), TA-type tag overlap breaking ties;
- ``taxonomy + BM25``: the same plus Okapi BM25 of the need's analysed text against the offers'
  (normalised by the need's best offer), as a lexical search engine would add.

Both apply the product's hard rule that a State never matches itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from kb.models import AssistanceNeed, EntryKind, EntryModel, ExpertiseOffer
from kb.services.importing import entries_import
from kb.services.reference import reference_data_load
from matching.evaluation.judged_set import JudgedSet, interchange_lines
from matching.evaluation.metrics import Report, evaluate
from matching.features import Features, load_features
from matching.lexical import bm25_scores
from matching.models import MatchCandidate, MatchRun, NeedOutcome, RunTrigger


class EvaluationError(Exception):
    pass


@dataclass
class Evaluation:
    product: Report
    anchors: dict[str, Report]
    run: MatchRun
    rankings: dict[str, list[str]]
    covered: set[str]

    def as_dict(self) -> dict:
        return {
            "product": self.product.as_dict(),
            "anchors": {name: report.as_dict() for name, report in self.anchors.items()},
            "run": {
                "id": self.run.pk,
                "backend": self.run.search_backend,
                "needs": self.run.needs_total,
                "candidates": self.run.candidates_count,
                "assigned": self.run.assigned_count,
                "coverage": self.run.coverage,
                "south_south_share": self.run.south_south_share,
                "timings": self.run.timings,
                "weights": self.run.weights,
            },
        }


def judged_set_load(judged: JudgedSet) -> None:
    """Reference data and the set's entries, all published (as a moderator's import)."""
    reference_data_load()
    report = entries_import(lines=interchange_lines(judged), publish=True)
    if not report.ok:
        problems = "; ".join(str(e) for e in report.errors[:10])
        raise EvaluationError(f"the set does not import: {problems}")


def external_ids(kind: str) -> dict[int, str]:
    model: EntryModel = ExpertiseOffer if kind == EntryKind.OFFER else AssistanceNeed
    # Every entry loaded from a judged set carries its external id.
    return {pk: external for pk, external in model.objects.values_list("pk", "external_id") if external is not None}


def run_rankings(run: MatchRun) -> tuple[dict[str, list[str]], set[str]]:
    """Each need's stored candidates, best first, and the needs the plan proposed a pair for."""
    needs, offers = external_ids(EntryKind.NEED), external_ids(EntryKind.OFFER)
    rankings: dict[str, list[str]] = {}
    covered: set[str] = set()
    for need_id, offer_id, assigned in (
        MatchCandidate.objects.filter(run=run)
        .order_by("need_id", "rank")
        .values_list("need_id", "offer_id", "assigned")
    ):
        rankings.setdefault(needs[need_id], []).append(offers[offer_id])
        if assigned:
            covered.add(needs[need_id])
    covered |= {
        needs[n]
        for n in NeedOutcome.objects.filter(run=run, providers_assigned__gt=0).values_list("need_id", flat=True)
    }
    return rankings, covered


def taxonomy_score(need: Features, offer: Features) -> float:
    if not need.article_tags:
        return 0.0
    exact = need.article_tags & offer.article_tags
    offer_chapters = {need.chapter_of.get(a) for a in offer.article_tags} | set(offer.chapters)
    same_chapter = [a for a in need.article_tags - exact if need.chapter_of.get(a) in offer_chapters]
    return (len(exact) + 0.5 * len(same_chapter)) / len(need.article_tags)


def _type_overlap(need: Features, offer: Features) -> float:
    if not need.ta_type_tags:
        return 0.0
    return len(need.ta_type_tags & offer.ta_type_tags) / len(need.ta_type_tags)


def anchor_rankings(top: int = 10) -> dict[str, dict[str, list[str]]]:
    needs = load_features(EntryKind.NEED, list(AssistanceNeed.objects.values_list("pk", flat=True)))
    offers = load_features(EntryKind.OFFER, list(ExpertiseOffer.objects.values_list("pk", flat=True)))
    need_ext, offer_ext = external_ids(EntryKind.NEED), external_ids(EntryKind.OFFER)
    offer_list = sorted(offers.values(), key=lambda f: f.id)
    lexical = bm25_scores(list(needs.values()), offer_list)
    result: dict[str, dict[str, list[str]]] = {"taxonomy": {}, "taxonomy + BM25": {}}
    for need in needs.values():
        eligible = [o for o in offer_list if not (need.country_id and o.country_id == need.country_id)]
        scores = lexical.get(need.id, {})
        best = max(scores.values(), default=0.0) or 1.0
        taxonomy = {o.id: (taxonomy_score(need, o), _type_overlap(need, o)) for o in eligible}
        by_taxonomy = sorted(eligible, key=lambda o: (-taxonomy[o.id][0], -taxonomy[o.id][1], o.id))
        combined = {o.id: taxonomy[o.id][0] + 0.1 * taxonomy[o.id][1] + scores.get(o.id, 0.0) / best for o in eligible}
        by_combined = sorted(eligible, key=lambda o: (-combined[o.id], o.id))
        result["taxonomy"][need_ext[need.id]] = [offer_ext[o.id] for o in by_taxonomy[:top]]
        result["taxonomy + BM25"][need_ext[need.id]] = [offer_ext[o.id] for o in by_combined[:top]]
    return result


def evaluation_run(judged: JudgedSet) -> Evaluation:
    """Load ``judged`` into this (empty, scratch) database, run matching, measure."""
    from kb.vectors.sync import entry_vectors_reconcile
    from matching.services.runs import match_run_execute, match_run_start

    judged_set_load(judged)
    entry_vectors_reconcile()
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    match_run_execute(run_id=run.pk)
    run.refresh_from_db()
    if run.status != "completed":
        raise EvaluationError(f"the matching run ended {run.status}: {run.error}")
    rankings, covered = run_rankings(run)
    anchors = {name: evaluate(ranking, judged) for name, ranking in anchor_rankings().items()}
    return Evaluation(
        product=evaluate(rankings, judged, covered), anchors=anchors, run=run, rankings=rankings, covered=covered
    )
