"""Entry terms are data: analysed once when an entry is written, read by matching runs,
recomputed only when the text, the analysis or the concept vocabulary changes."""

from __future__ import annotations

import json

import pytest

from kb.models import AssistanceNeed, EntryTerms, ExpertiseOffer, ThematicArea
from kb.search import terms as stored_terms
from kb.search.concepts import concept_matcher, concept_matcher_invalidate
from kb.search.documents import entry_rows
from kb.search.terms import (
    analyse_entry,
    entry_terms,
    entry_terms_compute,
    entry_terms_reconcile,
    stale_entry_ids,
)
from kb.services.importing import entries_import
from matching.features import load_features
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db

NEED_LINE = {
    "kind": "need",
    "external_id": "TERMS-N-1",
    "country": "PRY",
    "title": "Verificación de declaraciones juradas",
    "description": "Necesitamos apoyo para verificar las declaraciones juradas de bienes de los funcionarios.",
    "language": "es",
    "keywords": ["declaraciones juradas"],
    "status": "published",
}


@pytest.fixture(autouse=True)
def _fresh_vocabulary():
    concept_matcher_invalidate()
    yield
    concept_matcher_invalidate()


def _analysed_now(entry, kind):
    return analyse_entry(
        entry.title, entry.description, entry.keywords, entry.language_id, kind=kind, matcher=concept_matcher()
    )


def test_an_import_stores_the_entries_terms_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        report = entries_import(lines=[json.dumps(NEED_LINE)], publish=True)
    assert report.ok
    need = AssistanceNeed.objects.get(external_id="TERMS-N-1")
    row = EntryTerms.objects.get(entry_kind="need", entry_id=need.pk)
    expected = _analysed_now(need, "need")
    assert row.counts == [list(pair) for pair in expected.counts.items()]  # in the text's order
    assert row.surface == expected.surface
    assert set(row.concepts) == expected.concepts
    # The title counts twice, and a need keeps a word of its own text for each term (for reasons).
    counts = dict(row.counts)
    assert counts["verif"] == 2  # "Verificación", in the title only
    assert row.surface["verif"] == "Verificación"
    assert counts["jur"] == 2 + 1 + 1  # "juradas": title, description and keyword
    assert "theme:asset_declarations" in row.concepts
    need.refresh_from_db()
    assert (row.version, row.row_version) == (stored_terms.version(concept_matcher()), need.row_version)


def test_terms_are_recomputed_when_the_text_changes_and_not_on_redelivery():
    offer = OfferFactory(published=True)
    assert entry_terms_compute(kind="offer", entry_ids=[offer.pk]).computed == [offer.pk]
    again = entry_terms_compute(kind="offer", entry_ids=[offer.pk])  # a re-delivered task
    assert (again.computed, again.touched) == ([], 0)

    ExpertiseOffer.objects.filter(pk=offer.pk).update(status="archived")  # row version moves, text does not
    touched = entry_terms_compute(kind="offer", entry_ids=[offer.pk])
    assert (touched.computed, touched.touched) == ([], 1)

    ExpertiseOffer.objects.filter(pk=offer.pk).update(description="Whistle-blower protection and reporting channels.")
    assert entry_terms_compute(kind="offer", entry_ids=[offer.pk]).computed == [offer.pk]
    counts = dict(EntryTerms.objects.get(entry_kind="offer", entry_id=offer.pk).counts)
    assert "whistl" in counts
    assert "verifi" not in counts


def test_a_run_reads_stored_terms_and_analyses_only_what_is_missing_or_stale():
    offers = [OfferFactory(published=True) for _ in range(3)]
    ids = [o.pk for o in offers]
    entry_terms_compute(kind="offer", entry_ids=ids)
    found, analysed = entry_terms("offer", entry_rows("offer", ids))
    assert analysed == 0
    for offer in offers:
        # The same counts in the same order (a run's floating-point sums follow it).
        assert list(found[offer.pk].counts.items()) == list(_analysed_now(offer, "offer").counts.items())

    # A text changed behind the pipeline's back (a lost task): the run analyses it, and stores it.
    ExpertiseOffer.objects.filter(pk=ids[0]).update(title="Beneficial ownership registers")
    EntryTerms.objects.filter(entry_id=ids[1]).delete()
    found, analysed = entry_terms("offer", entry_rows("offer", ids))
    assert analysed == 2
    assert "benefici" in found[ids[0]].counts
    assert entry_terms("offer", entry_rows("offer", ids))[1] == 0


def test_features_from_stored_terms_equal_features_analysed_in_the_run():
    needs = [NeedFactory(published=True, description=f"Apoyo {i} para la recuperación de activos.") for i in range(3)]
    for need in needs:
        need.language_id = "es"
        need.save()
    ids = [n.pk for n in needs]
    stats: dict[str, int] = {}
    analysed_in_run = load_features("need", ids, stats)
    assert stats["analysed"] == 3  # the factories wrote the rows directly: nothing stored yet
    stats = {}
    from_storage = load_features("need", ids, stats)
    assert stats["analysed"] == 0
    for need_id in ids:
        a, b = analysed_in_run[need_id], from_storage[need_id]
        assert (a.counts, a.surface, a.concepts, a.themes, a.articles) == (
            b.counts,
            b.surface,
            b.concepts,
            b.themes,
            b.articles,
        )


def test_a_change_of_the_concept_vocabulary_makes_terms_stale_and_the_reconcile_recomputes_them():
    offer = OfferFactory(published=True, description="Our agency helps to protect whistle-blowers.")
    need = NeedFactory(published=True)
    assert sorted(stale_entry_ids("offer")) == [offer.pk]
    assert entry_terms_reconcile() == {"offer": 1, "need": 1}
    assert stale_entry_ids("offer") == stale_entry_ids("need") == []
    assert entry_terms_reconcile() == {"offer": 0, "need": 0}

    area = ThematicArea.objects.filter(is_active=True).exclude(code="whistleblower_protection").first()
    area.terms = {**area.terms, "en": [*area.terms.get("en", []), "protect whistle-blowers"]}
    area.save()
    concept_matcher_invalidate()  # what the admin does after saving a term
    assert sorted(stale_entry_ids("offer")) == [offer.pk]
    assert entry_terms_reconcile() == {"offer": 1, "need": 1}
    assert f"theme:{area.code}" in EntryTerms.objects.get(entry_kind="offer", entry_id=offer.pk).concepts

    need_id = need.pk
    need.delete()
    entry_terms_reconcile()
    assert not EntryTerms.objects.filter(entry_kind="need", entry_id=need_id).exists()
