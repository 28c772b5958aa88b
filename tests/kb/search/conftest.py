"""A small corpus for search tests, indexed into the backend under test."""

from __future__ import annotations

import pytest

from kb.models import Country, EntryStatus, Language, Organisation, OrganisationKind, TAType, ThematicArea, UncacArticle
from kb.search.sync import search_outbox_drain
from tests.factories import NeedFactory, OfferFactory


def org(iso3: str, name: str) -> Organisation:
    return Organisation.objects.create(
        name=name, country=Country.objects.get(iso3=iso3), kind=OrganisationKind.ANTI_CORRUPTION_AGENCY
    )


def tag(entry, articles=(), ta_types=(), themes=()):
    entry.articles.set(UncacArticle.objects.filter(number__in=articles))
    entry.ta_types.set(TAType.objects.filter(code__in=ta_types))
    entry.thematic_areas.set(ThematicArea.objects.filter(code__in=themes))


def published(entry):
    entry.status = EntryStatus.PUBLISHED
    entry.published_at = entry.updated_at
    entry.save()
    return entry


@pytest.fixture
def corpus(db, search_backend):
    """Offers and needs in five languages; indexed in ``search_backend``."""
    rwa = org("RWA", "Office of the Ombudsman")
    fra = org("FRA", "Haute Autorité pour la transparence")
    kor = org("KOR", "Anti-Corruption and Civil Rights Commission")
    hnd = org("HND", "Consejo Nacional Anticorrupción")
    egy = org("EGY", "هيئة الرقابة الإدارية")
    chn = org("CHN", "国家监察委员会")
    civ = org("CIV", "Haute Autorité pour la Bonne Gouvernance")
    en, fr, es, ar, zh = (Language.objects.get(code=c) for c in ("en", "fr", "es", "ar", "zh"))

    c = {}
    c["rwa_declarations"] = published(
        OfferFactory(
            organisation=rwa,
            language=en,
            title="Asset declarations: online filing and verification",
            description="We share our online asset declaration system: filing, verification of declarations and sanctions.",
        )
    )
    tag(c["rwa_declarations"], articles=[8, 52], ta_types=["technology"], themes=["asset_declarations"])
    c["kor_risk"] = published(
        OfferFactory(
            organisation=kor,
            language=en,
            title="Corruption risk assessment for public bodies",
            description="Training on integrity assessment and corruption risk assessment; a module touches on asset declarations.",
        )
    )
    tag(c["kor_risk"], articles=[5, 9], ta_types=["capacity_building"], themes=["corruption_risk_assessment"])
    c["fra_patrimoine"] = published(
        OfferFactory(
            organisation=fra,
            language=fr,
            title="Contrôle des déclarations de patrimoine des responsables publics",
            description="Accompagnement des autorités pour vérifier les déclarations de patrimoine et d'intérêts.",
        )
    )
    tag(c["fra_patrimoine"], articles=[8], ta_types=["good_practices"])
    c["egy_whistle"] = published(
        OfferFactory(
            organisation=egy,
            language=ar,
            title="حماية المبلغين عن الفساد",
            description="تدريب على إجراءات حماية المبلغين والشهود وتلقي البلاغات.",
        )
    )
    tag(c["egy_whistle"], articles=[33], ta_types=["capacity_building"], themes=["whistle_blower_protection"])
    c["chn_recovery"] = published(
        OfferFactory(
            organisation=chn,
            language=zh,
            title="追缴外逃腐败资产的国际合作经验",
            description="分享资产追回和司法协助的做法。",
        )
    )
    tag(c["chn_recovery"], articles=[51, 54], ta_types=["international_cooperation"], themes=["asset_recovery"])
    c["civ_need"] = published(
        NeedFactory(
            organisation=civ,
            country=civ.country,
            language=fr,
            title="Traitement et vérification des déclarations de patrimoine",
            description="Nous avons besoin d'aide pour vérifier les déclarations des agents publics.",
        )
    )
    tag(c["civ_need"], articles=[8], ta_types=["capacity_building"], themes=["asset_declarations"])
    c["hnd_need"] = published(
        NeedFactory(
            organisation=hnd,
            country=hnd.country,
            language=es,
            title="Protección de denunciantes de corrupción",
            description="Necesitamos fortalecer la protección de los denunciantes y los canales de denuncia.",
        )
    )
    tag(c["hnd_need"], articles=[33], themes=["whistle_blower_protection"])
    c["civ_draft"] = OfferFactory(
        organisation=civ,
        language=fr,
        title="Brouillon sur les déclarations de patrimoine",
        description="Un brouillon non publié.",
    )
    c["xss"] = published(
        OfferFactory(
            organisation=kor,
            language=en,
            title="<script>alert('x')</script> Asset declarations & gifts",
            description="Handling <b>gifts</b> and asset declarations.",
        )
    )
    search_outbox_drain(backend=search_backend)
    return c
