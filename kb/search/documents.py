"""What the search index holds for an entry, built from the database.

One ``SearchDocument`` shape serves both backends (``kb.search.backends``). Text fields hold terms
already analysed by ``kb.search.analysis`` (the backends only split them on spaces); facet fields
hold plain keyword strings; ``owners`` lists who may find the entry before it is published.

Invariant: an entry is in the index iff it exists and is not archived; everyone can find it iff it
is published; otherwise only its owners (``org:<id>``, or ``state:<ISO3>`` for a need without an
organisation) and moderators.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Prefetch, QuerySet

from kb.models import (
    AssistanceNeed,
    EntryKind,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
    UncacArticle,
)
from kb.search import analysis
from kb.search.concepts import concept_matcher

ENTRY_MODELS: dict[str, type[KnowledgeEntry]] = {
    EntryKind.OFFER: ExpertiseOffer,
    EntryKind.NEED: AssistanceNeed,
}

#: Facets clients may filter and count on: public name -> document field.
FACET_FIELDS = {
    "kind": "kind",
    "article": "articles",
    "chapter": "chapters",
    "ta_type": "ta_types",
    "thematic_area": "thematic_areas",
    "country": "country",
    "region": "region",
    "subregion": "subregion",
    "regional_group": "regional_group",
    "language": "language",
    "south_south": "global_south",
}

#: Keyword (exact-match) fields of a document; every facet field is one.
KEYWORD_FIELDS = (
    "kind",
    "articles",
    "chapters",
    "ta_types",
    "thematic_areas",
    "concepts",
    "country",
    "region",
    "subregion",
    "regional_group",
    "language",
    "working_languages",
    "modalities",
    "g77",
    "m49_developing",
    "status",
    "owners",
    "priority",
    "south_south_preference",
)


def owner_tokens_for_entry(entry: KnowledgeEntry) -> list[str]:
    if entry.organisation_id:  # type: ignore[attr-defined]
        return [f"org:{entry.organisation_id}"]  # type: ignore[attr-defined]
    return [f"state:{entry.country.iso3}"]  # type: ignore[attr-defined]


@dataclass
class SearchDocument:
    kind: str
    entry_id: int
    version: int
    title: str
    description: str
    language: str
    title_terms: str
    text_terms: str
    status: str
    owners: list[str]
    updated_at: datetime
    published_at: datetime | None
    articles: list[str] = field(default_factory=list)
    chapters: list[str] = field(default_factory=list)
    ta_types: list[str] = field(default_factory=list)
    thematic_areas: list[str] = field(default_factory=list)
    concepts: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    country: str = ""
    country_name: str = ""
    organisation: str = ""
    region: str = ""
    subregion: str = ""
    regional_group: str = ""
    g77: str = "no"
    m49_developing: str = "no"
    working_languages: list[str] = field(default_factory=list)
    modalities: list[str] = field(default_factory=list)
    capacity: int = 0
    priority: str = ""
    south_south_preference: str = ""

    @property
    def global_south(self) -> str:
        """South-South eligibility under the configured definition ("yes"/"no")."""
        return self.m49_developing if settings.SOUTH_SOUTH_DEFINITION == "m49" else self.g77

    def as_dict(self) -> dict:
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["global_south"] = self.global_south
        return data


def indexable_queryset(kind: str) -> QuerySet:
    """Entries of ``kind`` that belong in the index, with everything a document needs loaded."""
    model = ENTRY_MODELS[kind]
    related = ["language", "organisation__country__region", "organisation__country__subregion"]
    prefetch: list = [
        Prefetch("articles", queryset=UncacArticle.objects.only("number", "chapter_id")),
        "ta_types",
        "thematic_areas",
        "working_languages",
    ]
    if kind == EntryKind.OFFER:
        prefetch.append("modalities")
    else:
        related += ["country__region", "country__subregion"]
    return (
        model.objects.exclude(status=EntryStatus.ARCHIVED)
        .select_related(*related)
        .prefetch_related(*prefetch)
    )


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def build_document(kind: str, entry: KnowledgeEntry) -> SearchDocument:
    language = entry.language_id
    keywords = [str(k) for k in (entry.keywords or [])]
    body = "\n".join([entry.description, " ".join(keywords)])
    country = entry.country if kind == EntryKind.NEED else entry.organisation.country  # type: ignore[attr-defined]
    articles = list(entry.articles.all())
    ta_types = [t.code for t in entry.ta_types.all()]
    themes = [t.code for t in entry.thematic_areas.all()]
    matcher = concept_matcher()
    concepts = matcher.find(f"{entry.title}\n{body}", language)
    concepts |= {f"theme:{code}" for code in themes} | {f"ta:{code}" for code in ta_types}
    document = SearchDocument(
        kind=kind,
        entry_id=entry.pk,
        version=entry.row_version,
        title=entry.title,
        description=entry.description,
        language=language,
        title_terms=" ".join(analysis.analyse(entry.title, language)),
        text_terms=" ".join(analysis.analyse(body, language)),
        status=entry.status,
        owners=owner_tokens_for_entry(entry),
        updated_at=entry.updated_at,
        published_at=entry.published_at,
        articles=[str(a.number) for a in articles],
        chapters=sorted({str(a.chapter_id) for a in articles}),
        ta_types=ta_types,
        thematic_areas=themes,
        concepts=sorted(concepts),
        keywords=keywords,
        working_languages=[lang.code for lang in entry.working_languages.all()],
    )
    if country is not None:
        document.country = country.iso3
        document.country_name = country.name
        document.region = country.region.name
        document.subregion = country.subregion.name
        document.regional_group = country.regional_group
        document.g77 = _yes(country.g77)
        document.m49_developing = _yes(country.m49_developing)
    if kind == EntryKind.OFFER:
        document.organisation = entry.organisation.name  # type: ignore[attr-defined]
        document.modalities = [m.code for m in entry.modalities.all()]  # type: ignore[attr-defined]
        document.capacity = entry.capacity  # type: ignore[attr-defined]
    else:
        document.organisation = entry.organisation.name if entry.organisation_id else ""  # type: ignore[attr-defined]
        document.priority = entry.priority  # type: ignore[attr-defined]
        document.south_south_preference = entry.south_south  # type: ignore[attr-defined]
    return document


#: Entry id -> version of the deletion: the row version of an entry that still exists but left
#: the index (archived), or None for an entry gone from the database for good.
Deletions = dict[int, int | None]


def build_documents(kind: str, ids: Iterable[int]) -> tuple[list[SearchDocument], Deletions]:
    """Documents for the indexable entries among ``ids``, and what to delete from the index."""
    wanted = set(ids)
    documents = [build_document(kind, entry) for entry in indexable_queryset(kind).filter(pk__in=wanted)]
    missing = wanted - {d.entry_id for d in documents}
    still_there = dict(
        ENTRY_MODELS[kind].objects.filter(pk__in=missing).values_list("id", "row_version")
    ) if missing else {}
    return documents, {entry_id: still_there.get(entry_id) for entry_id in missing}
