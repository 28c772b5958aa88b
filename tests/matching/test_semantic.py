"""Matching by meaning: kNN candidates fused with lexical ones on both backends, the semantic
component across languages, and reasons that quote the offer's closest sentence."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kb.models import AssistanceNeed, ExpertiseOffer
from kb.search.query import VectorQuery
from kb.search.sync import search_outbox_drain
from kb.services.importing import entries_import
from kb.vectors.encoders import build_encoder, reset_encoder
from kb.vectors.sync import entry_vectors_reconcile
from matching.engine import fuse
from matching.models import MatchCandidate, RunTrigger
from matching.reasons import FSI, PDI, render_reason
from matching.services.runs import match_rescore_needs, match_run_execute, match_run_start

pytestmark = pytest.mark.django_db

ASSET_SENTENCE = "We help agencies verify the asset declarations of public officials and sanction false declarations."


def offer(external_id: str, country: str, title: str, description: str) -> dict:
    return {
        "kind": "offer", "external_id": external_id, "country": country, "organisation": f"Agency {external_id}",
        "title": title, "description": description, "language": "en", "capacity": 3, "status": "published",
    }  # fmt: skip


LINES = [
    offer("SEM-O-ASSET", "GEO", "Verification of declarations",
          f"Peer exchange with our verification department. {ASSET_SENTENCE} Sanctions follow false statements."),
    offer("SEM-O-PROC", "CHL", "Open contracting", "We advise on e-procurement platforms and open contracting data."),
    offer("SEM-O-WB", "KOR", "Reporting channels", "We share how to protect whistle-blowers who report wrongdoing."),
    offer("SEM-O-BRA", "BRA", "Declarações de bens", "Verificação das declarações de bens dos servidores públicos."),
    offer("SEM-O-JUD", "ZAF", "Judicial ethics", "A course on codes of conduct and ethics for judges and prosecutors."),
    offer("SEM-O-FIU", "MAR", "Financial intelligence", "Our financial intelligence unit trains analysts on suspicious "
          "transaction reports and money-laundering typologies."),
    offer("SEM-O-EDU", "IDN", "Integrity education", "We bring anti-corruption education into school curricula."),
    # Untagged on purpose: neither side names an article, a type or a theme.
    {"kind": "need", "external_id": "SEM-N-PT", "country": "BRA", "language": "pt", "status": "published",
     "title": "Apoio técnico",
     "description": "Precisamos de apoio para verificar as declarações de bens dos funcionários públicos e "
                    "sancionar as declarações falsas."},
]  # fmt: skip


@pytest.fixture
def semantic_kb(search_backend):
    reset_encoder(build_encoder("use"))
    report = entries_import(lines=[json.dumps(line) for line in LINES], publish=True)
    assert report.ok, report.errors
    entry_vectors_reconcile()  # what the after-commit task does, then indexing with the vectors
    search_outbox_drain(backend=search_backend)
    yield search_backend
    reset_encoder(None)


def test_a_portuguese_need_finds_the_english_offer_on_its_subject_without_tags(semantic_kb):
    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    match_run_execute(run_id=run.pk, backend=semantic_kb)
    need = AssistanceNeed.objects.get(external_id="SEM-N-PT")
    candidates = list(MatchCandidate.objects.filter(run=run, need=need).select_related("offer").order_by("rank"))
    assert candidates[0].offer.external_id == "SEM-O-ASSET"
    assert "SEM-O-BRA" not in {c.offer.external_id for c in candidates}  # its own State, same words
    best = candidates[0]
    assert best.components["semantic"] > max(c.components["semantic"] or 0 for c in candidates[1:])
    assert best.components["text"] is None  # words cannot be compared across languages
    # The semantic reason quotes the offer's sentence closest to the need, as written.
    semantic = next(r for r in best.reasons if r["code"] == "semantic")
    assert semantic["params"]["sentence"] == ASSET_SENTENCE
    rendered = render_reason(semantic)
    assert f"{FSI}{ASSET_SENTENCE}{PDI}" in rendered
    assert rendered.startswith("Closest to your need")


def test_knn_finds_the_nearest_published_entries_of_other_states(semantic_kb):
    need = AssistanceNeed.objects.get(external_id="SEM-N-PT")
    from kb.models import EntryVector

    vector = np.frombuffer(bytes(EntryVector.objects.get(entry_kind="need", entry_id=need.pk).vector), np.float32)
    found = semantic_kb.similar("offer", [VectorQuery(key=1, vector=vector.tolist(), exclude_country="BRA")], 2)[1]
    ids = dict(ExpertiseOffer.objects.values_list("pk", "external_id"))
    assert len(found) == 2
    assert ids[found[0][0]] == "SEM-O-ASSET"
    assert found[0][1] > found[1][1]
    everything = semantic_kb.similar("offer", [VectorQuery(key=1, vector=vector.tolist(), exclude_country="BRA")], 50)[
        1
    ]
    assert {ids[offer_id] for offer_id, _ in everything} == {
        e["external_id"] for e in LINES if e["kind"] == "offer"
    } - {
        "SEM-O-BRA"  # the need's own State
    }
    # An unpublished offer is never a candidate.
    ExpertiseOffer.objects.filter(external_id="SEM-O-ASSET").update(status="returned")
    search_outbox_drain(backend=semantic_kb)
    again = semantic_kb.similar("offer", [VectorQuery(key=1, vector=vector.tolist(), exclude_country="BRA")], 3)[1]
    assert "SEM-O-ASSET" not in {ids[offer_id] for offer_id, _ in again}


def test_reciprocal_rank_fusion_keeps_both_lists_best_first():
    lexical = {1: [10, 11, 12]}
    semantic = {1: [13, 10], 2: [20]}
    assert fuse([lexical, semantic]) == {1: [10, 13, 11, 12], 2: [20]}
    assert fuse([lexical, semantic], size=2) == {1: [10, 13], 2: [20]}


def test_rescoring_one_need_reads_stored_terms_and_the_offers_matrix(semantic_kb, monkeypatch):
    """Incremental re-scoring analyses no text (the terms are stored) and finds neighbours in the
    published offers' matrix, as a full run does: the same candidates, not the engine's kNN."""
    from kb.search import terms

    need = AssistanceNeed.objects.get(external_id="SEM-N-PT")
    full = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    match_run_execute(run_id=full.pk, backend=semantic_kb)
    by_full = list(MatchCandidate.objects.filter(run=full, need=need).order_by("rank").values_list("offer_id", "score"))

    def no_analysis(*args, **kwargs):
        raise AssertionError("re-scoring analysed a text")

    knn_queries = []
    real_similar = semantic_kb.similar

    def similar(kind, queries, size):  # the real engine's kNN, counted
        knn_queries.extend(queries)
        return real_similar(kind, queries, size)

    monkeypatch.setattr(semantic_kb, "similar", similar)
    monkeypatch.setattr(terms, "analyse_entry", no_analysis)
    run = match_rescore_needs(need_ids=[need.pk], backend=semantic_kb)

    assert knn_queries == []
    by_rescoring = list(
        MatchCandidate.objects.filter(run=run, need=need).order_by("rank").values_list("offer_id", "score")
    )
    assert by_rescoring == by_full
