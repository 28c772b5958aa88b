"""Loading reference data: States, regions, languages, UNCAC structure, TA taxonomy.

Idempotent: running it again updates what changed and reports the rest as unchanged. Thematic
areas that moderators added in the admin are left alone.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pycountry
from babel import Locale
from django.conf import settings
from django.db import models, transaction
from modeltranslation.utils import build_localized_fieldname

from kb.models import (
    Country,
    Language,
    Modality,
    Region,
    RegionalGroup,
    RegionKind,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
)

REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference_data"

#: The six UN languages as ISO 639-1 content codes, and the CLDR locale that names things in each.
UN_LANGUAGES = ("ar", "zh", "en", "fr", "ru", "es")
_CLDR_LOCALE = {"ar": "ar", "zh": "zh_Hans", "en": "en", "fr": "fr", "ru": "ru", "es": "es"}

# CLDR names PS "Palestinian Territories"; the United Nations name is "State of Palestine".
_UN_NAME_OVERRIDES = {
    "PSE": {
        "ar": "دولة فلسطين",
        "zh": "巴勒斯坦国",
        "en": "State of Palestine",
        "fr": "État de Palestine",
        "ru": "Государство Палестина",
        "es": "Estado de Palestina",
    }
}

_REGIONAL_GROUPS = {
    "African Group": RegionalGroup.AFRICAN,
    "Asia-Pacific Group": RegionalGroup.ASIA_PACIFIC,
    "Eastern European Group": RegionalGroup.EASTERN_EUROPEAN,
    "GRULAC": RegionalGroup.GRULAC,
    "WEOG": RegionalGroup.WEOG,
    "": "",
}


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, outcome: str) -> None:
        bucket: dict[str, int] = getattr(self, outcome)
        bucket[what] = bucket.get(what, 0) + 1

    def summary(self) -> str:
        kinds = sorted(set(self.created) | set(self.updated) | set(self.unchanged))
        return "; ".join(
            f"{kind}: {self.created.get(kind, 0)} created, {self.updated.get(kind, 0)} updated, "
            f"{self.unchanged.get(kind, 0)} unchanged"
            for kind in kinds
        )


def _localized_fields(name: str, values: dict[str, str]) -> dict[str, str]:
    """Map {"en": ..., "zh": ...} to modeltranslation fields {"label_en": ..., "label_zh_hans": ...}."""
    fields = {}
    for ui_code, _label in settings.LANGUAGES:
        content_code = ui_code.split("-")[0]
        fields[build_localized_fieldname(name, ui_code)] = values.get(content_code, "")
    return fields


ModelT = TypeVar("ModelT", bound=models.Model)


def _upsert(
    model: type[ModelT],
    lookup: dict[str, Any],
    values: dict[str, Any],
    report: LoadReport,
    what: str,
) -> ModelT:
    obj = model._default_manager.filter(**lookup).first()  # each model's only manager, ``objects``
    if obj is None:
        obj = model(**lookup, **values)
        obj.full_clean(validate_unique=False, validate_constraints=False)
        obj.save()
        report.count(what, "created")
        return obj
    changed = [key for key, value in values.items() if getattr(obj, key) != value]
    if changed:
        for key in changed:
            setattr(obj, key, values[key])
        obj.save(update_fields=changed)
        report.count(what, "updated")
    else:
        report.count(what, "unchanged")
    return obj


def _cldr_names(code: str, kind: str) -> dict[str, str]:
    names = {}
    for lang in UN_LANGUAGES:
        table = getattr(Locale.parse(_CLDR_LOCALE[lang]), kind)
        if code in table:
            names[lang] = table[code]
    return names


def _load_regions(report: LoadReport) -> dict[str, Region]:
    regions: dict[str, Region] = {}  # by name, as countries.csv names them
    by_code: dict[str, Region] = {}
    with open(REFERENCE_DIR / "m49_regions.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            names = _cldr_names(row["m49_code"], "territories")
            names["en"] = row["name"]  # the UN M49 English name, as used in countries.csv
            parent = by_code[row["parent_m49_code"]] if row["parent_m49_code"] else None
            regions[row["name"]] = by_code[row["m49_code"]] = _upsert(
                Region,
                {"m49_code": row["m49_code"]},
                {
                    "name": row["name"],
                    "kind": RegionKind.SUBREGION if parent else RegionKind.REGION,
                    "parent": parent,
                    "names": names,
                },
                report,
                "regions",
            )
    return regions


def _load_countries(report: LoadReport, regions: dict[str, Region]) -> None:
    def flag(value: str) -> bool:
        return value.strip().lower() == "true"

    with open(REFERENCE_DIR / "countries.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            iso3 = row["iso3"]
            known = pycountry.countries.get(alpha_3=iso3)
            if known is None:
                raise ValueError(f"countries.csv: iso3 {iso3!r} is not an ISO 3166 alpha-3 code")
            iso2 = known.alpha_2
            if iso3 in _UN_NAME_OVERRIDES:
                names = dict(_UN_NAME_OVERRIDES[iso3])  # the UN's own names, English included
            else:
                names = {**_cldr_names(iso2, "territories"), "en": row["name"]}
            _upsert(
                Country,
                {"iso3": iso3},
                {
                    "iso2": iso2,
                    "name": row["name"],
                    "names": names,
                    "region": regions[row["un_region"]],
                    "subregion": regions[row["m49_subregion"]],
                    "regional_group": _REGIONAL_GROUPS[row["un_regional_group"]],
                    "g77": flag(row["g77"]),
                    "m49_developing": flag(row["m49_developing"]),
                    "ldc": flag(row["ldc"]),
                    "sids": flag(row["sids"]),
                    "un_member": flag(row["un_member"]),
                },
                report,
                "countries",
            )


def _load_languages(report: LoadReport) -> None:
    for language in pycountry.languages:
        code = getattr(language, "alpha_2", None)
        if not code:
            continue
        names = _cldr_names(code, "languages")
        names.setdefault("en", language.name)
        _upsert(
            Language,
            {"code": code},
            {
                "name": names["en"],
                "names": names,
                "is_un_language": code in UN_LANGUAGES,
            },
            report,
            "languages",
        )


def _load_uncac(report: LoadReport) -> None:
    data = json.loads((REFERENCE_DIR / "uncac.json").read_text(encoding="utf-8"))
    chapters = {}
    for chapter in data["chapters"]:
        chapters[chapter["number"]] = _upsert(
            UncacChapter,
            {"number": chapter["number"]},
            {
                "roman": chapter["roman"],
                "first_article": chapter["first_article"],
                "last_article": chapter["last_article"],
                **_localized_fields("title", chapter["title"]),
            },
            report,
            "UNCAC chapters",
        )
    for article in data["articles"]:
        _upsert(
            UncacArticle,
            {"number": article["number"]},
            {"chapter": chapters[article["chapter"]], **_localized_fields("title", article["title"])},
            report,
            "UNCAC articles",
        )


def _load_taxonomy(report: LoadReport) -> None:
    data = json.loads((REFERENCE_DIR / "taxonomy.json").read_text(encoding="utf-8"))
    articles = {a.number: a for a in UncacArticle.objects.all()}
    for order, item in enumerate(data["ta_types"]):
        _upsert(
            TAType,
            {"code": item["code"]},
            {
                "sort_order": order,
                "terms": item["terms"],
                **_localized_fields("label", item["label"]),
                **_localized_fields("description", item["description"]),
            },
            report,
            "TA types",
        )
    for order, item in enumerate(data["thematic_areas"]):
        area = _upsert(
            ThematicArea,
            {"code": item["code"]},
            {
                "sort_order": order,
                "terms": item["terms"],
                **_localized_fields("label", item["label"]),
                **_localized_fields("description", item["description"]),
            },
            report,
            "thematic areas",
        )
        wanted = {articles[n] for n in item["articles"]}
        if set(area.articles.all()) != wanted:
            area.articles.set(wanted)
    for order, item in enumerate(data["modalities"]):
        _upsert(
            Modality,
            {"code": item["code"]},
            {"sort_order": order, **_localized_fields("label", item["label"])},
            report,
            "modalities",
        )


def reference_data_load() -> LoadReport:
    """Create or update all reference data; safe to run any number of times."""
    report = LoadReport()
    with transaction.atomic(durable=True):
        regions = _load_regions(report)
        _load_countries(report, regions)
        _load_languages(report)
        _load_uncac(report)
        _load_taxonomy(report)
    return report
