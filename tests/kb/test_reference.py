"""Reference data: complete, in six languages, loaded idempotently."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import translation
from modeltranslation.utils import build_localized_fieldname

from kb.models import Country, Language, Modality, Region, TAType, ThematicArea, UncacArticle, UncacChapter
from kb.services.reference import reference_data_load

pytestmark = pytest.mark.django_db


def test_everything_is_loaded():
    assert Country.objects.count() == 196
    assert UncacChapter.objects.count() == 8
    assert UncacArticle.objects.count() == 71
    assert TAType.objects.count() == 11
    assert ThematicArea.objects.count() == 24
    assert Modality.objects.count() == 8
    assert Region.objects.filter(kind="region").count() == 5
    assert set(Language.objects.filter(is_un_language=True).values_list("code", flat=True)) == {
        "ar",
        "zh",
        "en",
        "fr",
        "ru",
        "es",
    }


def test_loading_again_changes_nothing():
    report = reference_data_load()
    assert not report.created
    assert not report.updated


def test_articles_sit_in_their_chapters():
    for chapter in UncacChapter.objects.all():
        numbers = sorted(chapter.articles.values_list("number", flat=True))
        assert numbers == list(range(chapter.first_article, chapter.last_article + 1))


@pytest.mark.parametrize(
    ("model", "field"),
    [(UncacArticle, "title"), (UncacChapter, "title"), (TAType, "label"), (ThematicArea, "label"), (Modality, "label")],
)
def test_every_taxonomy_label_exists_in_all_six_languages(model, field):
    for obj in model.objects.all():
        for code, _name in settings.LANGUAGES:
            assert getattr(obj, build_localized_fieldname(field, code)), (obj.pk, code)


def test_country_names_in_every_un_language():
    for country in Country.objects.all():
        assert set(country.names) >= {"ar", "zh", "en", "fr", "ru", "es"}, country.iso3
    palestine = Country.objects.get(iso3="PSE")
    with translation.override("fr"):
        assert palestine.display_name == "État de Palestine"
    with translation.override("zh-hans"):
        assert Country.objects.get(iso3="CHN").display_name == "中国"


def test_south_south_flags_follow_the_definition(settings):
    korea = Country.objects.get(iso3="KOR")
    china = Country.objects.get(iso3="CHN")
    assert china.is_global_south("g77")
    assert not korea.is_global_south("g77")
    settings.SOUTH_SOUTH_DEFINITION = "m49"
    assert korea.is_global_south() == korea.m49_developing
