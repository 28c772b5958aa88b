"""Human-readable labels for facet values, in the active language (cached per process)."""

from __future__ import annotations

import functools

from django.utils.translation import get_language

from kb.models import Country, Language, Region, RegionalGroup, TAType, ThematicArea, UncacArticle, UncacChapter


@functools.lru_cache(maxsize=16)
def _labels(language: str) -> dict[str, dict[str, str]]:
    return {
        "article": {str(a.number): str(a) for a in UncacArticle.objects.all()},
        "article_title": {str(a.number): a.title for a in UncacArticle.objects.all()},
        "chapter": {str(c.number): str(c) for c in UncacChapter.objects.all()},
        "chapter_title": {str(c.number): c.title for c in UncacChapter.objects.all()},
        "chapter_roman": {str(c.number): c.roman for c in UncacChapter.objects.all()},
        "region": {r.name: r.display_name for r in Region.objects.all()},
        "subregion": {r.name: r.display_name for r in Region.objects.all()},
        "ta_type": {t.code: t.label for t in TAType.objects.all()},
        "thematic_area": {t.code: t.label for t in ThematicArea.objects.all()},
        "country": {c.iso3: c.display_name for c in Country.objects.all()},
        "language": {lang.code: lang.display_name for lang in Language.objects.all()},
        "regional_group": {g.value: str(g.label) for g in RegionalGroup},
    }


def facet_label(facet: str, value: str) -> str:
    return _labels(get_language() or "en").get(facet, {}).get(value, value)


def facet_labels_clear() -> None:
    _labels.cache_clear()
