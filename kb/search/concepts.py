"""Concepts derived from free text, so entries in different languages meet.

Each TA type and thematic area carries *recognition terms* in the six UN languages (edited in the
admin, seeded from ``kb/reference_data/taxonomy.json``). A text "mentions" a concept when the
analysed terms of one of its phrases occur contiguously in the analysed text, in the same language.
Both texts and phrases go through ``kb.search.analysis``, so "déclarations du patrimoine" matches
the phrase "déclaration de patrimoine", and the concept ``theme:asset_declarations`` links it to an
English text on "asset declarations" and an Arabic one on "إقرار الذمة المالية".

Concept codes are ``theme:<code>`` and ``ta:<code>``.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterable

from kb.search import analysis

UN_LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
_CACHE_SECONDS = 60


class ConceptMatcher:
    def __init__(self, concept_terms: Iterable[tuple[str, dict[str, list[str]]]]):
        # language -> first term -> [(phrase terms, concept code)]
        self._index: dict[str, dict[str, list[tuple[tuple[str, ...], str]]]] = defaultdict(lambda: defaultdict(list))
        self.codes: set[str] = set()
        concept_terms = sorted((code, terms or {}) for code, terms in concept_terms)
        # Names the vocabulary: texts analysed with another one may mention other concepts.
        vocabulary = json.dumps(concept_terms, sort_keys=True, ensure_ascii=False)
        self.digest = hashlib.sha1(vocabulary.encode("utf-8")).hexdigest()[:12]
        for code, terms in concept_terms:
            self.codes.add(code)
            for language, phrases in (terms or {}).items():
                for phrase in phrases:
                    analysed = tuple(analysis.analyse(phrase, language))
                    if analysed:
                        self._index[language][analysed[0]].append((analysed, code))

    def _scan(self, terms: list[str], language: str, found: set[str]) -> None:
        table = self._index.get(language)
        if not table:
            return
        for i, term in enumerate(terms):
            for phrase, code in table.get(term, ()):
                if code not in found and tuple(terms[i : i + len(phrase)]) == phrase:
                    found.add(code)

    def languages_for(self, language: str) -> list[str]:
        """Which languages' phrases to look for in a text written in ``language``.

        The text's own language, plus English for Latin-script texts (acronyms and English terms
        of art appear in texts of every language); a language without phrases of its own (say
        Portuguese) is read with the UN languages sharing its script.
        """
        languages = [language] if language in UN_LANGUAGES else analysis.same_script_languages(language, UN_LANGUAGES)
        if language in analysis.SCRIPT_QUERY_LANGUAGES["latin"] and "en" not in languages:
            languages.append("en")
        return languages

    def find(self, text: str, language: str, analysed: list[str] | None = None) -> set[str]:
        """Concept codes mentioned in ``text`` written in ``language``.

        ``analysed`` may hold ``analysis.analyse(text, language)`` when the caller has it already.
        """
        found: set[str] = set()
        for lang in self.languages_for(language):
            terms = analysed if analysed is not None and lang == language else analysis.analyse(text, lang)
            self._scan(terms, lang, found)
        return found

    def find_in_query(self, text: str) -> set[str]:
        """Concept codes mentioned in a query of unknown language (tries every UN language)."""
        found: set[str] = set()
        for lang in UN_LANGUAGES:
            self._scan(analysis.analyse(text, lang), lang, found)
        return found


_lock = threading.Lock()
_cached: tuple[float, ConceptMatcher] | None = None


def _load_from_database() -> ConceptMatcher:
    from kb.models import TAType, ThematicArea

    items: list[tuple[str, dict[str, list[str]]]] = []
    for area in ThematicArea.objects.filter(is_active=True).only("code", "terms"):
        items.append((f"theme:{area.code}", area.terms))
    for ta_type in TAType.objects.filter(is_active=True).only("code", "terms"):
        items.append((f"ta:{ta_type.code}", ta_type.terms))
    return ConceptMatcher(items)


def concept_matcher() -> ConceptMatcher:
    """The matcher for the current taxonomy (rebuilt at most once a minute, or when invalidated)."""
    global _cached
    with _lock:
        if _cached is None or time.monotonic() - _cached[0] > _CACHE_SECONDS:
            _cached = (time.monotonic(), _load_from_database())
        return _cached[1]


def concept_matcher_invalidate() -> None:
    global _cached
    with _lock:
        _cached = None
