"""What matching knows about each need and offer, loaded in bulk.

Features come from the same value queries as search documents (``kb.search.documents``) and the
same analysis: TF-IDF vectors of analysed terms (title counts twice), concepts derived from the
text, and tags widened by concepts (a thematic area found in the text counts as a theme of the
entry, and brings the UNCAC articles that area concerns).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from django.conf import settings
from django.db.models import Avg, Count

from kb.models import (
    AssistanceNeed,
    EntryKind,
    EntryStatus,
    EntryVector,
    ExpertiseOffer,
    ThematicArea,
    UncacArticle,
)
from kb.search.documents import entry_rows, related_values
from kb.search.terms import entry_terms
from kb.vectors.encoders import get_encoder
from kb.vectors.sync import entry_sentence_vectors, entry_vectors
from matching.models import (
    ACTIVE_RUN_STATUSES,
    CAPACITY_STATES,
    CorpusStats,
    Engagement,
    EngagementRating,
    MatchRun,
    RatingSide,
)

#: Keep this many of a need's strongest terms in its candidate query.
QUERY_TERMS = 12
#: The vectors' centroid counts as if this many more entries sat at the origin (see embedding_centroid).
CENTROID_PRIOR = 10


@dataclass
class Features:
    kind: str
    id: int
    title: str
    language: str
    languages: frozenset[str]
    country_id: str  # ISO3, "" for international organisations
    region: str
    subregion: str
    g77: bool
    m49_developing: bool
    articles: frozenset[int]
    article_tags: frozenset[int]
    chapters: frozenset[int]
    chapter_of: dict[int, int]
    ta_types: frozenset[str]
    themes: frozenset[str]
    ta_type_tags: frozenset[str]
    theme_tags: frozenset[str]
    concepts: frozenset[str]
    counts: Counter  # analysed term -> weighted count
    surface: dict[str, str]  # analysed term -> a word of the text it comes from (for reasons)
    vector: dict[str, float] = field(default_factory=dict)  # L2-normalised TF-IDF
    # The encoder's unit vector of the whole text (kb.vectors), None without a current one; for
    # offers also one per sentence (and for the line of its keywords and themes). Centred on the
    # corpus mean by ``apply_corpus``.
    embedding: np.ndarray | None = None
    sentence_embeddings: np.ndarray | None = None
    # needs
    organisation_id: int | None = None
    south_south: str = "none"
    priority: str = "medium"
    providers_wanted: int = 1
    # offers
    capacity_total: int = 0
    capacity_left: int = 0
    regions_served: frozenset[str] = frozenset()
    feedback_average: float | None = None
    feedback_count: int = 0

    def global_south(self, definition: str) -> bool:
        return self.m49_developing if definition == "m49" else self.g77


@dataclass(frozen=True)
class Idf:
    """Corpus statistics a run scores with: document frequencies of terms over the published
    offers (TF-IDF), and the mean of the published entries' vectors (``centroid``: semantic
    similarity is measured on vectors centred on it)."""

    documents: int
    frequencies: dict[str, int]
    centroid: np.ndarray | None = None
    stats_id: int | None = None  # the saved CorpusStats row

    def __call__(self, term: str) -> float:
        return math.log((self.documents + 1) / (self.frequencies.get(term, 0) + 1)) + 1.0


def need_for_plan(need_id: int, providers_wanted: int, priority: str, south_south: str) -> Features:
    """A need as the plan and its outcome see it (what a full run's batch keeps of it once
    scored): how many providers, how urgent, South-South; no text, tags or vector."""
    return Features(
        kind=EntryKind.NEED, id=need_id, title="", language="", languages=frozenset(), country_id="", region="",
        subregion="", g77=False, m49_developing=False, articles=frozenset(), article_tags=frozenset(),
        chapters=frozenset(), chapter_of={}, ta_types=frozenset(), themes=frozenset(), ta_type_tags=frozenset(),
        theme_tags=frozenset(), concepts=frozenset(), counts=Counter(), surface={},
        south_south=south_south, priority=priority, providers_wanted=providers_wanted,
    )  # fmt: skip


def _theme_articles() -> dict[str, frozenset[int]]:
    through = ThematicArea.articles.through
    result: dict[str, set[int]] = {}
    for code, number in through.objects.values_list("thematicarea__code", "uncacarticle__number"):
        result.setdefault(code, set()).add(number)
    return {code: frozenset(numbers) for code, numbers in result.items()}


def _chapters() -> dict[int, int]:
    return dict(UncacArticle.objects.values_list("number", "chapter_id"))


def load_features(kind: str, ids: list[int], stats: dict | None = None) -> dict[int, Features]:
    """Features of the published entries of ``kind`` among ``ids``.

    The analysed text comes from the terms stored when each entry was written
    (``kb.search.terms``); entries whose stored terms are missing or stale are analysed now (and
    stored), counted in ``stats["analysed"]``.
    """
    if not ids:
        return {}
    rows = [r for r in entry_rows(kind, ids) if r["status"] == EntryStatus.PUBLISHED]
    related = related_values(kind, [r["id"] for r in rows])
    theme_articles = _theme_articles()
    chapter_of = _chapters()
    stored, analysed = entry_terms(kind, rows)
    if stats is not None:
        stats["analysed"] = stats.get("analysed", 0) + analysed
    need_extra = _need_extras(ids) if kind == EntryKind.NEED else {}
    offer_extra = _offer_extras(ids) if kind != EntryKind.NEED else {}
    embeddings = entry_vectors(kind, [r["id"] for r in rows])
    sentence_embeddings = entry_sentence_vectors(kind, [r["id"] for r in rows]) if kind == EntryKind.OFFER else {}
    result: dict[int, Features] = {}
    for row in rows:
        entry_id, language = row["id"], row["language_id"]
        terms = stored[entry_id]
        concepts = terms.concepts
        tagged_themes = set(related["thematic_areas"].get(entry_id, []))
        tagged_types = set(related["ta_types"].get(entry_id, []))
        themes = tagged_themes | {c.split(":", 1)[1] for c in concepts if c.startswith("theme:")}
        ta_types = tagged_types | {c.split(":", 1)[1] for c in concepts if c.startswith("ta:")}
        article_tags = frozenset(number for number, _chapter in related["articles"].get(entry_id, []))
        articles = set(article_tags)
        if not articles:  # untagged: the articles of the themes found in the text
            for theme in themes:
                articles |= theme_articles.get(theme, frozenset())
        place = row["place"]
        features = Features(
            kind=kind,
            id=entry_id,
            title=row["title"],
            language=language,
            languages=frozenset({language, *related["working_languages"].get(entry_id, [])}),
            country_id=place["iso3"] or "",
            region=place["region__name"] or "",
            subregion=place["subregion__name"] or "",
            g77=bool(place["g77"]),
            m49_developing=bool(place["m49_developing"]),
            articles=frozenset(articles),
            article_tags=article_tags,
            chapters=frozenset(chapter_of[a] for a in articles if a in chapter_of),
            chapter_of={a: chapter_of[a] for a in articles if a in chapter_of},
            ta_types=frozenset(ta_types),
            themes=frozenset(themes),
            ta_type_tags=frozenset(tagged_types),
            theme_tags=frozenset(tagged_themes),
            concepts=frozenset({*concepts, *(f"theme:{t}" for t in tagged_themes), *(f"ta:{t}" for t in tagged_types)}),
            counts=terms.counts,
            surface=terms.surface,
            organisation_id=row["organisation_id"],
            embedding=embeddings.get(entry_id),
            sentence_embeddings=sentence_embeddings.get(entry_id),
        )
        if kind == EntryKind.NEED:
            features.south_south = row["south_south"]
            features.priority = row["priority"]
            features.providers_wanted = need_extra.get(entry_id, 1)
        else:
            features.capacity_total = row["capacity"]
            used = offer_extra["used"].get(entry_id, 0)
            features.capacity_left = max(0, row["capacity"] - used)
            features.regions_served = offer_extra["regions"].get(entry_id, frozenset())
            average, count = offer_extra["feedback"].get(row["organisation_id"], (None, 0))
            features.feedback_average, features.feedback_count = average, count
        result[entry_id] = features
    return result


def _need_extras(ids: list[int]) -> dict[int, int]:
    return dict(AssistanceNeed.objects.filter(pk__in=ids).values_list("id", "providers_wanted"))


def capacity_used(offer_ids: list[int], year: int | None = None) -> dict[int, int]:
    """Engagements accepted this calendar year per offer (they use up its yearly capacity)."""
    year = year or date.today().year
    rows = (
        Engagement.objects.filter(offer_id__in=offer_ids, state__in=CAPACITY_STATES, accepted_at__year=year)
        .values("offer_id")
        .annotate(n=Count("id"))
    )
    return {row["offer_id"]: row["n"] for row in rows}


def provider_feedback(organisation_ids: list[int]) -> dict[int, tuple[float, int]]:
    """Average rating recipients gave each provider organisation, and how many ratings."""
    rows = (
        EngagementRating.objects.filter(
            side=RatingSide.RECIPIENT, engagement__offer__organisation_id__in=organisation_ids
        )
        .values("engagement__offer__organisation_id")
        .annotate(average=Avg("score"), n=Count("id"))
    )
    return {row["engagement__offer__organisation_id"]: (row["average"], row["n"]) for row in rows}


def _offer_extras(ids: list[int]) -> dict[str, dict]:
    regions: dict[int, set[str]] = {}
    through = ExpertiseOffer.regions_served.through
    for offer_id, name in through.objects.filter(expertiseoffer_id__in=ids).values_list(
        "expertiseoffer_id", "region__name"
    ):
        regions.setdefault(offer_id, set()).add(name)
    organisations = list(ExpertiseOffer.objects.filter(pk__in=ids).values_list("organisation_id", flat=True).distinct())
    return {
        "used": capacity_used(ids),
        "regions": {k: frozenset(v) for k, v in regions.items()},
        "feedback": provider_feedback(organisations),
    }


def apply_corpus(features: dict[int, Features], idf: Idf) -> None:
    """TF-IDF vectors of the entries' terms, and their text vectors centred on the corpus mean.

    Every entry of this knowledge base is about anti-corruption, so raw encoder vectors share one
    large common direction and their cosines sit in a narrow band; subtracting the corpus mean
    (and re-normalising) leaves what distinguishes one entry from another.
    """
    centroid = idf.centroid
    for f in features.values():
        weights = {term: (1 + math.log(count)) * idf(term) for term, count in f.counts.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        f.vector = {term: w / norm for term, w in weights.items()}
        if f.embedding is not None and centroid is not None and len(centroid) == len(f.embedding):
            f.embedding = _centred(f.embedding[None, :], centroid)[0]
            if f.sentence_embeddings is not None and len(f.sentence_embeddings):
                # float16 as stored: half the memory of a full run's offers, ample for a cosine.
                f.sentence_embeddings = _centred(f.sentence_embeddings, centroid).astype(np.float16)


def _centred(vectors: np.ndarray, centroid: np.ndarray) -> np.ndarray:
    centred = vectors.astype(np.float32) - centroid
    lengths = np.linalg.norm(centred, axis=1, keepdims=True)
    return (centred / np.where(lengths > 0, lengths, 1.0)).astype(np.float32)


def embedding_centroid() -> tuple[np.ndarray | None, str]:
    """Mean vector of the published needs and offers (read in chunks), and the encoder version."""
    encoder = get_encoder()
    if not encoder.enabled:
        return None, encoder.version
    total = np.zeros(encoder.dim, np.float64)
    count = 0
    for kind, model in ((EntryKind.OFFER, ExpertiseOffer), (EntryKind.NEED, AssistanceNeed)):
        published = model.objects.filter(status=EntryStatus.PUBLISHED).values("pk")
        rows = EntryVector.objects.filter(
            entry_kind=kind, encoder_version=encoder.version, entry_id__in=published
        ).values_list("vector", flat=True)
        for data in rows.iterator(chunk_size=2000):
            total += np.frombuffer(bytes(data), dtype=np.float32)
            count += 1
    if not count:
        return None, encoder.version
    # Shrunk towards zero for a small knowledge base, whose mean is mostly its few entries
    # themselves: centring five entries on their own mean would push them apart artificially.
    return (total / (count + CENTROID_PRIOR)).astype(np.float32), encoder.version


def corpus_stats_compute(offers: dict[int, Features]) -> Idf:
    """Document frequencies over the given offers and the vectors' centroid, saved for
    incremental re-scoring."""
    frequencies: Counter = Counter()
    for f in offers.values():
        frequencies.update(f.counts.keys())
    centroid, encoder_version = embedding_centroid()
    stats = CorpusStats.objects.create(
        documents=len(offers),
        document_frequencies=dict(frequencies),
        encoder_version=encoder_version,
        embedding_mean=centroid.tobytes() if centroid is not None else None,
    )
    # The three latest are kept, and any an active full run's batches still score with.
    in_use = MatchRun.objects.filter(status__in=ACTIVE_RUN_STATUSES, corpus_stats__isnull=False)
    CorpusStats.objects.filter(pk__in=CorpusStats.objects.values_list("pk", flat=True)[3:]).exclude(
        pk__in=in_use.values("corpus_stats_id")
    ).delete()
    return Idf(len(offers), dict(frequencies), centroid, stats.pk)


def _idf_of(stats: CorpusStats) -> Idf:
    centroid = np.frombuffer(bytes(stats.embedding_mean), dtype=np.float32) if stats.embedding_mean else None
    return Idf(stats.documents, stats.document_frequencies, centroid, stats.pk)


def corpus_stats_latest() -> Idf:
    stats = CorpusStats.objects.first()
    if stats is None or stats.encoder_version != get_encoder().version:
        published = list(ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).values_list("id", flat=True))
        return corpus_stats_compute(load_features(EntryKind.OFFER, published))
    return _idf_of(stats)


def corpus_stats_get(stats_id: int) -> Idf | None:
    """The statistics a full run's batches score with (None if they are gone)."""
    stats = CorpusStats.objects.filter(pk=stats_id).first()
    return _idf_of(stats) if stats is not None else None


def query_terms(need: Features) -> list[tuple[str, float]]:
    """The need's strongest terms (by TF-IDF weight), to fetch candidates from search."""
    return sorted(need.vector.items(), key=lambda kv: -kv[1])[:QUERY_TERMS]


def definition() -> str:
    return settings.SOUTH_SOUTH_DEFINITION
