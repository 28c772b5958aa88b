"""Entry vectors are data: computed after commit, once per text and model, reconciled."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kb.models import EntryVector, ExpertiseOffer
from kb.services.importing import entries_import
from kb.vectors.encoders import build_encoder, get_encoder, reset_encoder
from kb.vectors.sync import (
    entry_vectors_compute,
    entry_vectors_reconcile,
    split_sentences,
    stale_entry_ids,
)
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db

OFFER_LINE = {
    "kind": "offer",
    "external_id": "VEC-O-1",
    "country": "KOR",
    "organisation": "Anti-Corruption and Civil Rights Commission",
    "title": "Corruption risk assessment",
    "description": "We train auditors to map corruption risks. Our method rates each risk; agencies then plan measures.",
    "language": "en",
    "keywords": ["risk assessment", "integrity"],
    "status": "published",
}


@pytest.fixture(autouse=True)
def _use_encoder():
    reset_encoder(build_encoder("use"))
    yield
    reset_encoder(None)


def test_an_import_computes_vectors_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = entries_import(lines=[json.dumps(OFFER_LINE)], publish=True)
    assert report.ok
    offer = ExpertiseOffer.objects.get(external_id="VEC-O-1")
    assert not EntryVector.objects.filter(entry_id=offer.pk).exists()  # nothing inside the transaction
    for callback in callbacks:
        callback()
    vector = EntryVector.objects.get(entry_kind="offer", entry_id=offer.pk)
    offer.refresh_from_db()
    assert (vector.encoder_version, vector.row_version) == (get_encoder().version, offer.row_version)
    assert vector.as_array().shape == (512,)
    # The offer's sentences as written, and its keywords as one line, each with a vector.
    assert vector.sentences == [
        "We train auditors to map corruption risks.",
        "Our method rates each risk; agencies then plan measures.",
        "risk assessment, integrity",
    ]
    assert vector.sentence_array().shape == (3, 512)


def test_vectors_are_recomputed_when_the_text_changes_and_not_on_redelivery():
    offer = OfferFactory(published=True)
    first = entry_vectors_compute(kind="offer", entry_ids=[offer.pk])
    assert first.computed == [offer.pk]
    again = entry_vectors_compute(kind="offer", entry_ids=[offer.pk])  # a re-delivered task
    assert (again.computed, again.touched) == ([], 0)
    before = EntryVector.objects.get(entry_id=offer.pk).as_array().copy()

    ExpertiseOffer.objects.filter(pk=offer.pk).update(status="archived")  # row version moves, text does not
    touched = entry_vectors_compute(kind="offer", entry_ids=[offer.pk])
    assert (touched.computed, touched.touched) == ([], 1)
    offer.refresh_from_db()
    assert EntryVector.objects.get(entry_id=offer.pk).row_version == offer.row_version

    ExpertiseOffer.objects.filter(pk=offer.pk).update(description="Whistle-blower protection and reporting channels.")
    changed = entry_vectors_compute(kind="offer", entry_ids=[offer.pk])
    assert changed.computed == [offer.pk]
    assert not np.allclose(EntryVector.objects.get(entry_id=offer.pk).as_array(), before)


def test_a_deleted_entry_loses_its_vector():
    need = NeedFactory(published=True)
    entry_vectors_compute(kind="need", entry_ids=[need.pk])
    need_id = need.pk
    need.delete()
    report = entry_vectors_compute(kind="need", entry_ids=[need_id])
    assert report.removed == 1
    assert not EntryVector.objects.filter(entry_kind="need", entry_id=need_id).exists()


def test_reconcile_fills_missing_vectors_and_recomputes_them_after_a_model_change():
    offers = [OfferFactory(published=True) for _ in range(3)]
    need = NeedFactory(published=True)
    assert sorted(stale_entry_ids("offer")) == sorted(o.pk for o in offers)
    assert entry_vectors_reconcile() == {"offer": 3, "need": 1}
    assert stale_entry_ids("offer") == stale_entry_ids("need") == []
    assert entry_vectors_reconcile() == {"offer": 0, "need": 0}

    reset_encoder(build_encoder("e5"))  # the deployment switches models
    assert len(stale_entry_ids("offer")) == 3
    assert entry_vectors_reconcile() == {"offer": 3, "need": 1}
    vectors = EntryVector.objects.filter(entry_id__in=[need.pk, *(o.pk for o in offers)])
    assert {v.encoder for v in vectors} == {"e5"}
    assert {v.dim for v in vectors} == {384}

    reset_encoder(build_encoder("none"))  # no model at all: no vectors
    entry_vectors_reconcile()
    assert not EntryVector.objects.exists()


def test_sentences_split_in_every_script_and_short_fragments_are_dropped():
    text = "第一句话说明我们的经验。第二句话说明培训内容！ Ok. La Commission forme les enquêteurs; elle partage ses guides."
    assert split_sentences(text) == [
        "第一句话说明我们的经验。",
        "第二句话说明培训内容！",
        "La Commission forme les enquêteurs; elle partage ses guides.",
    ]
