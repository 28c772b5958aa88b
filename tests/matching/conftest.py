"""A small published knowledge base, indexed into the backend under test, for matching tests."""

from __future__ import annotations

import json

import pytest

from kb.models import AssistanceNeed, ExpertiseOffer
from kb.search.sync import search_outbox_drain
from kb.services.importing import entries_import


def offer(external_id, country, organisation, title, description, language="en", **extra):
    return {"kind": "offer", "external_id": external_id, "country": country, "organisation": organisation,
            "title": title, "description": description, "language": language, **extra}  # fmt: skip


def need(external_id, country, organisation, title, description, language="en", **extra):
    return {"kind": "need", "external_id": external_id, "country": country, "organisation": organisation,
            "title": title, "description": description, "language": language, **extra}  # fmt: skip


SMALL_KB = [
    offer("O-RWA", "RWA", "Office of the Ombudsman", "Online asset declaration system",
          "We share our online system for filing and verifying asset declarations of public officials.",
          uncac_articles=[8, 52], thematic_areas=["asset_declarations"], ta_types=["technology", "capacity_building"],
          languages=["en", "fr"], capacity=1),
    offer("O-FRA", "FRA", "Haute Autorité pour la transparence", "Contrôle des déclarations de patrimoine",
          "Accompagnement pour vérifier les déclarations de patrimoine et d'intérêts des responsables publics.",
          language="fr", uncac_articles=[8], capacity=3),
    offer("O-CIV", "CIV", "Haute Autorité pour la Bonne Gouvernance", "Déclarations de patrimoine : notre expérience",
          "Partage de l'expérience ivoirienne de vérification des déclarations de patrimoine.", language="fr", capacity=3),
    offer("O-JOR", "JOR", "Integrity and Anti-Corruption Commission", "حماية المبلغين عن الفساد",
          "تدريب على حماية المبلغين وتلقي البلاغات وحماية الشهود.", language="ar",
          uncac_articles=[33], thematic_areas=["whistle_blower_protection"], languages=["ar", "en", "es"], capacity=2),
    offer("O-NOR", "NOR", "Norwegian Agency for Development Cooperation", "Whistle-blower protection frameworks",
          "Advice on whistle-blower protection laws and reporting channels.",
          uncac_articles=[33], thematic_areas=["whistle_blower_protection"], languages=["en", "es"], capacity=5),
]  # fmt: skip
SMALL_NEEDS = [
    need("N-CIV", "CIV", "Haute Autorité pour la Bonne Gouvernance", "Vérification des déclarations de patrimoine",
         "Nous avons besoin d'appui pour vérifier les déclarations de patrimoine des agents publics.", language="fr",
         uncac_articles=[8], south_south="prefer"),
    need("N-SEN", "SEN", "Office national de lutte contre la fraude et la corruption", "Déclarations de patrimoine",
         "Mise en place d'un système de déclarations de patrimoine en ligne.", language="fr"),
    need("N-HND", "HND", "Consejo Nacional Anticorrupción", "Protección de denunciantes",
         "Necesitamos fortalecer la protección de los denunciantes de corrupción.", language="es",
         uncac_articles=[33], south_south="require"),
    need("N-PNG", "PNG", "Ombudsman Commission", "Integrity of sports federations",
         "Help to prevent match-fixing in national sports federations.", south_south="none"),
]  # fmt: skip


def load(entries) -> None:
    report = entries_import(lines=[json.dumps(e, ensure_ascii=False) for e in entries], publish=True)
    assert report.ok, report.errors


@pytest.fixture
def small_kb(db, search_backend):
    load(SMALL_KB + SMALL_NEEDS)
    search_outbox_drain(backend=search_backend)
    offers = {o.external_id: o for o in ExpertiseOffer.objects.all()}
    needs = {n.external_id: n for n in AssistanceNeed.objects.all()}
    return offers, needs
