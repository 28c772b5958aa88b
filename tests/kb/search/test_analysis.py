"""Text analysis in Python: the same terms for both backends, in every UN language."""

from __future__ import annotations

from kb.search.analysis import analyse, fold, query_groups
from kb.search.concepts import ConceptMatcher


def _matches(query: str, text: str, language: str) -> bool:
    terms = set(analyse(text, language))
    return all(group.alternatives & terms for group in query_groups(query))


def test_french_inflections_meet():
    assert _matches("déclaration du patrimoine", "Les déclarations de patrimoine des agents", "fr")


def test_spanish_and_english_stems():
    assert _matches("protección denunciantes", "Protecciones para los denunciantes", "es")
    assert _matches("investigating", "Financial investigations of corruption", "en")


def test_russian_cases_meet():
    assert _matches("декларация имущества", "Декларации об имуществе должностных лиц", "ru")


def test_arabic_prefixes_and_diacritics_are_handled():
    assert _matches("الإقرار", "نظام إقرار الذمة المالية", "ar")
    assert _matches("الموظفين", "مدونة سلوك للموظفين", "ar")
    assert fold("إِقْرَار") == "اقرار"


def test_chinese_is_segmented_into_bigrams():
    assert analyse("财产申报制度", "zh") == ["财产", "产申", "申报", "报制", "制度"]
    assert _matches("财产申报", "加强财产申报制度建设", "zh")
    assert not _matches("资产追回", "加强财产申报制度建设", "zh")


def test_accents_and_case_are_folded():
    assert analyse("ÉTAT", "fr") == analyse("etat", "fr")


def test_other_languages_stay_searchable():
    assert _matches("proteção denunciantes", "Proteção dos denunciantes", "pt")
    assert analyse("Ushirikiano wa kupambana na rushwa", "sw")  # no stemmer: still indexed


def test_stop_words_are_dropped_but_content_words_kept():
    terms = analyse("The access to information and the research system", "en")
    assert "the" not in terms
    assert {"access", "inform", "research", "system"} <= set(terms)


def test_concepts_link_languages():
    matcher = ConceptMatcher(
        [
            (
                "theme:asset_declarations",
                {
                    "en": ["asset declaration"],
                    "fr": ["déclaration de patrimoine"],
                    "ar": ["إقرار الذمة المالية"],
                    "zh": ["财产申报"],
                },
            )
        ]
    )
    assert matcher.find("Vérification des déclarations du patrimoine", "fr") == {"theme:asset_declarations"}
    assert matcher.find("Electronic asset declarations", "en") == {"theme:asset_declarations"}
    assert matcher.find("财产申报制度", "zh") == {"theme:asset_declarations"}
    assert matcher.find("Declaration of war on assets", "en") == set()
    assert matcher.find_in_query("asset declarations") == {"theme:asset_declarations"}
