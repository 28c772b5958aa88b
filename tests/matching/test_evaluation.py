"""Measuring and fitting matching on judged sets: metrics, the evaluate command in its scratch
database, a deterministic fit, and re-fitting on the knowledge base's own decisions."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command

from kb.models import AssistanceNeed, ExpertiseOffer
from kb.services.importing import entries_import
from matching.engine import match_config
from matching.evaluation.fitting import fit, pair_table
from matching.evaluation.history import history_judgments, judged_set_write
from matching.evaluation.judged_set import JudgedSet, Judgment, judged_set_read
from matching.evaluation.metrics import evaluate, ndcg_at, recall_at
from matching.models import Engagement, EngagementRating, EngagementState, RatingSide

pytestmark = pytest.mark.django_db


def test_recall_and_ndcg_follow_their_definitions():
    judgment = Judgment(need_id="N", offer_ids=("A", "B"))
    assert recall_at(["A", "X", "B"], judgment) == 1.0
    assert recall_at(["X", "Y", "Z", "W", "V", "A"], judgment) == 0.0
    assert ndcg_at(["A", "B"], judgment) == 1.0
    # The best offer (gain 2) second and the other (gain 1) first: (1 + 2/log2 3) / (2 + 1/log2 3).
    assert ndcg_at(["B", "A"], judgment) == pytest.approx((1 + 2 / 1.58496) / (2 + 1 / 1.58496), abs=1e-4)
    judged = JudgedSet(
        needs=[{"id": "N", "lang": "en"}, {"id": "M", "lang": "fr"}, {"id": "Z", "lang": "en"}],
        offers=[],
        judgments={"N": judgment, "M": Judgment("M", ("C",)), "Z": Judgment("Z", ())},
    )
    report = evaluate({"N": ["A", "B"], "M": ["X"]}, judged, covered={"N"})
    assert (report.all.needs, report.english.needs, report.other.needs) == (2, 1, 1)  # Z has no judged offer
    assert (report.all.recall_at_5, report.other.recall_at_5, report.all.coverage) == (0.5, 0.0, 0.5)


def _tiny_set(directory):
    """Two needs, four offers; each need's judged offer shares its article and subject."""
    needs = [
        {
            "id": "T-N1",
            "iso3": "KEN",
            "lang": "en",
            "articles": [8],
            "ta_type": "capacity_building",
            "text": "Our commission needs training to verify the asset declarations of public officials.",
        },
        {
            "id": "T-N2",
            "iso3": "PER",
            "lang": "es",
            "articles": [33],
            "ta_type": "legislative_assistance",
            "text": "Necesitamos una ley de protección de denunciantes y canales de denuncia confidenciales.",
        },
    ]
    offers = [
        {"id": "T-O1", "provider": "Agency A", "iso3": "GEO", "lang": "en", "articles": [8], "areas": ["asset declarations"],
         "ta_type": "capacity_building", "text": "Training on verifying asset declarations of officials."},
        {"id": "T-O2", "provider": "Agency B", "iso3": "KOR", "lang": "en", "articles": [33], "areas": ["whistle-blowers"],
         "ta_type": "legislative_assistance", "text": "Drafting whistle-blower protection laws and reporting channels."},
        {"id": "T-O3", "provider": "Agency C", "iso3": "CHL", "lang": "es", "articles": [9], "areas": ["compras públicas"],
         "ta_type": "technology", "text": "Plataformas de compras públicas electrónicas."},
        {"id": "T-O4", "provider": "Agency D", "iso3": "FRA", "lang": "fr", "articles": [58], "areas": ["renseignement financier"],
         "ta_type": "capacity_building", "text": "Formation des analystes de la cellule de renseignement financier."},
    ]  # fmt: skip
    judgments = [{"need_id": "T-N1", "offer_ids": ["T-O1"]}, {"need_id": "T-N2", "offer_ids": ["T-O2"]}]
    directory.mkdir(parents=True, exist_ok=True)
    for name, rows in (("needs", needs), ("offers", offers), ("judgments", judgments)):
        (directory / f"{name}.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return directory


def test_evaluate_matching_measures_a_tiny_set_in_a_scratch_database(tmp_path):
    directory = _tiny_set(tmp_path / "set")
    before = (ExpertiseOffer.objects.count(), AssistanceNeed.objects.count())
    out = tmp_path / "report.json"
    call_command("evaluate_matching", str(directory), "--backend", "embedded", "--json", str(out), verbosity=0)
    report = json.loads(out.read_text())["embedded"]
    assert report["product"]["all"] == {"needs": 2, "recall@5": 1.0, "nDCG@10": 1.0, "coverage": 1.0}
    assert report["product"]["other"]["needs"] == 1  # the Spanish need
    assert set(report["anchors"]) == {"taxonomy", "taxonomy + BM25"}
    assert report["anchors"]["taxonomy"]["all"]["nDCG@10"] == 1.0
    assert report["run"]["needs"] == 2
    # The set never touched this database.
    assert (ExpertiseOffer.objects.count(), AssistanceNeed.objects.count()) == before


def test_evaluate_matching_names_a_broken_set(tmp_path):
    directory = _tiny_set(tmp_path / "set")
    (directory / "judgments.jsonl").write_text('{"need_id": "T-N9", "offer_ids": []}\n')
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="judgments.jsonl line 1: unknown need 'T-N9'"):
        call_command("evaluate_matching", str(directory))


def _load(directory) -> JudgedSet:
    from kb.vectors.sync import entry_vectors_reconcile
    from matching.evaluation.runner import judged_set_load

    judged = judged_set_read(directory)
    judged_set_load(judged)
    entry_vectors_reconcile()
    return judged


def test_the_fit_is_deterministic(tmp_path):
    judged = _load(_tiny_set(tmp_path / "set"))
    config = match_config()
    first = fit(pair_table(config.definition), judged, config, seed=3)
    second = fit(pair_table(config.definition), judged, config, seed=3)
    assert first.defaults() == second.defaults()
    assert first.in_sample["all"]["recall@5"] == 1.0


# --- learning from outcomes ------------------------------------------------------------------------

SOUTH, NORTH = ("IND", "MEX", "ZAF"), ("FRA", "DEU", "JPN")
RECIPIENTS = ("KEN", "GHA", "SEN", "UGA", "ZMB", "TZA")


def _history_kb():
    """Offers alike in every way but the provider's State, needs of the global South."""
    text = "Training for investigators on financial investigations and asset tracing in corruption cases."
    lines = [
        {"kind": "offer", "external_id": f"H-O-{iso3}", "country": iso3, "organisation": f"Agency {iso3}",
         "title": "Financial investigations", "description": text, "language": "en", "uncac_articles": [31, 36],
         "ta_types": ["capacity_building"], "capacity": 10, "status": "published"}
        for iso3 in SOUTH + NORTH
    ] + [
        {"kind": "need", "external_id": f"H-N-{iso3}", "country": iso3, "title": "Financial investigations",
         "description": "Our investigators need training in financial investigations and tracing assets.",
         "language": "en", "uncac_articles": [31, 36], "ta_types": ["capacity_building"], "status": "published"}
        for iso3 in RECIPIENTS
    ]  # fmt: skip
    assert entries_import(lines=[json.dumps(line) for line in lines], publish=True).ok


def _decide(preferred: tuple[str, ...], other: tuple[str, ...]) -> None:
    for index, recipient in enumerate(RECIPIENTS):
        need = AssistanceNeed.objects.get(external_id=f"H-N-{recipient}")
        chosen = ExpertiseOffer.objects.get(external_id=f"H-O-{preferred[index % 3]}")
        refused = ExpertiseOffer.objects.get(external_id=f"H-O-{other[index % 3]}")
        done = Engagement.objects.create(
            need=need, offer=chosen, need_title=need.title, offer_title=chosen.title, state=EngagementState.COMPLETED
        )
        EngagementRating.objects.create(engagement=done, side=RatingSide.RECIPIENT, score=5)
        Engagement.objects.create(
            need=need, offer=refused, need_title=need.title, offer_title=refused.title, state=EngagementState.DISMISSED
        )


def _fitted_south_south_weight(tmp_path, preferred, other) -> float:
    _decide(preferred, other)
    judged = history_judgments()
    judged_set_write(judged, tmp_path)
    assert judged_set_read(tmp_path).judgments.keys() == judged.judgments.keys()  # the export reads back
    config = match_config()
    result = fit(pair_table(config.definition), judged, config, seed=7)
    return result.parameters.weights["south_south"] * result.parameters.context_share


def test_a_history_of_south_south_choices_raises_the_south_south_weight(tmp_path):
    _history_kb()
    south = _fitted_south_south_weight(tmp_path / "south", SOUTH, NORTH)
    Engagement.objects.all().delete()
    north = _fitted_south_south_weight(tmp_path / "north", NORTH, SOUTH)
    assert south > north


def test_history_judgments_grade_by_rating_and_list_refusals(tmp_path):
    _history_kb()
    _decide(SOUTH, NORTH)
    judgment = history_judgments().judgments["H-N-KEN"]
    assert judgment.offer_ids == ("H-O-IND",)
    assert judgment.grades == {"H-O-IND": 5.0}
    assert judgment.negative_offer_ids == ("H-O-FRA",)
