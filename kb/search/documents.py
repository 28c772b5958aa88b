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
from django.db.models import QuerySet

from kb.models import (
    ENTRY_MODELS,
    EntryKind,
    EntryStatus,
)
from kb.search import analysis
from kb.search.concepts import concept_matcher
from kb.vectors.sync import entry_vectors

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
    # The encoder's text vector (kb.vectors), for kNN candidates; None until computed.
    text_vector: list[float] | None = None

    @property
    def global_south(self) -> str:
        """South-South eligibility under the configured definition ("yes"/"no")."""
        return self.m49_developing if settings.SOUTH_SOUTH_DEFINITION == "m49" else self.g77

    def as_dict(self) -> dict:
        """The document's fields; the text vector only when there is one."""
        data = {name: getattr(self, name) for name in self.__dataclass_fields__}
        data["global_south"] = self.global_south
        if data["text_vector"] is None:
            del data["text_vector"]
        return data


def indexable_queryset(kind: str) -> QuerySet:
    """Entries of ``kind`` that belong in the index."""
    return ENTRY_MODELS[kind].objects.exclude(status=EntryStatus.ARCHIVED)


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


#: Many-to-many fields a document needs, and the column of the related row that names it.
_RELATED_KEYS = {
    "articles": "number",
    "ta_types": "code",
    "thematic_areas": "code",
    "working_languages": "code",
    "modalities": "code",
}


def related_values(kind: str, ids: list[int]) -> dict[str, dict[int, list]]:
    """For each many-to-many field, entry id -> the related keys, straight from the through tables.

    Plain ``values_list`` queries, one per field and batch: building 100k documents must not
    instantiate and prefetch model objects one by one.
    """
    model = ENTRY_MODELS[kind]
    result: dict[str, dict[int, list]] = {}
    for m2m in model._meta.many_to_many:
        if m2m.name not in _RELATED_KEYS:
            continue
        through = m2m.remote_field.through
        if through is None:  # resolved for every many-to-many field once the app registry is ready
            raise RuntimeError(f"{model.__name__}.{m2m.name} has no through model yet")
        source, target = m2m.m2m_field_name(), m2m.m2m_reverse_field_name()
        columns = [f"{source}_id", f"{target}__{_RELATED_KEYS[m2m.name]}"]
        if m2m.name == "articles":
            columns.append(f"{target}__chapter_id")
        values: dict[int, list] = {}
        for row in through._default_manager.filter(**{f"{source}_id__in": ids}).values_list(*columns):
            values.setdefault(row[0], []).append(row[1:] if m2m.name == "articles" else row[1])
        result[m2m.name] = values
    return result


def entry_rows(kind: str, ids: list[int]) -> list[dict]:
    place = "organisation__country" if kind == EntryKind.OFFER else "country"
    fields = [
        "id", "row_version", "title", "description", "language_id", "keywords", "status", "updated_at",
        "published_at", "organisation_id", "organisation__name", f"{place}__iso3", f"{place}__name",
        f"{place}__region__name", f"{place}__subregion__name", f"{place}__regional_group", f"{place}__g77",
        f"{place}__m49_developing",
    ]  # fmt: skip
    fields += ["capacity"] if kind == EntryKind.OFFER else ["priority", "south_south"]
    rows = list(indexable_queryset(kind).filter(pk__in=ids).values(*fields))
    for row in rows:
        row["place"] = {key.removeprefix(f"{place}__"): row[key] for key in fields if key.startswith(place)}
    return rows


def _document(kind: str, row: dict, related: dict[str, dict[int, list]]) -> SearchDocument:
    entry_id = row["id"]
    language = row["language_id"]
    keywords = [str(k) for k in (row["keywords"] or [])]
    body = "\n".join([row["description"], " ".join(keywords)])
    articles = sorted(related["articles"].get(entry_id, []))
    ta_types = sorted(related["ta_types"].get(entry_id, []))
    themes = sorted(related["thematic_areas"].get(entry_id, []))
    title_terms = analysis.analyse(row["title"], language)
    text_terms = analysis.analyse(body, language)
    concepts = concept_matcher().find(f"{row['title']}\n{body}", language, analysed=title_terms + text_terms)
    concepts |= {f"theme:{code}" for code in themes} | {f"ta:{code}" for code in ta_types}
    place = row["place"]
    owners = [f"org:{row['organisation_id']}"] if row["organisation_id"] else [f"state:{place['iso3']}"]
    document = SearchDocument(
        kind=kind,
        entry_id=entry_id,
        version=row["row_version"],
        title=row["title"],
        description=row["description"],
        language=language,
        title_terms=" ".join(title_terms),
        text_terms=" ".join(text_terms),
        status=row["status"],
        owners=owners,
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        articles=[str(number) for number, _chapter in articles],
        chapters=sorted({str(chapter) for _number, chapter in articles}),
        ta_types=ta_types,
        thematic_areas=themes,
        concepts=sorted(concepts),
        keywords=keywords,
        working_languages=sorted(related["working_languages"].get(entry_id, [])),
        organisation=row["organisation__name"] or "",
    )
    if place["iso3"]:
        document.country = place["iso3"]
        document.country_name = place["name"]
        document.region = place["region__name"]
        document.subregion = place["subregion__name"]
        document.regional_group = place["regional_group"]
        document.g77 = _yes(place["g77"])
        document.m49_developing = _yes(place["m49_developing"])
    if kind == EntryKind.OFFER:
        document.modalities = sorted(related["modalities"].get(entry_id, []))
        document.capacity = row["capacity"]
    else:
        document.priority = row["priority"]
        document.south_south_preference = row["south_south"]
    return document


#: Entry id -> version of the deletion: the row version of an entry that still exists but left
#: the index (archived), or None for an entry gone from the database for good.
Deletions = dict[int, int | None]


def build_documents(kind: str, ids: Iterable[int]) -> tuple[list[SearchDocument], Deletions]:
    """Documents for the indexable entries among ``ids``, and what to delete from the index."""
    wanted = set(ids)
    rows = entry_rows(kind, sorted(wanted))
    related = related_values(kind, [row["id"] for row in rows])
    documents = [_document(kind, row, related) for row in rows]
    vectors = entry_vectors(kind, [d.entry_id for d in documents])
    for document in documents:
        vector = vectors.get(document.entry_id)
        document.text_vector = vector.tolist() if vector is not None else None
    missing = wanted - {d.entry_id for d in documents}
    still_there = (
        dict(ENTRY_MODELS[kind].objects.filter(pk__in=missing).values_list("id", "row_version")) if missing else {}
    )
    return documents, {entry_id: still_there.get(entry_id) for entry_id in missing}
