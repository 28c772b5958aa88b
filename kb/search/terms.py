"""Stored entry terms (``kb.models.EntryTerms``): analysis done when an entry is written.

Invariants:
- Terms are computed after commit, with the vectors (``kb.tasks.entry_vectors_task``), and by the
  periodic reconcile; a matching run reads them in bulk (``entry_terms``) and analyses only what it
  finds missing or stale, storing it, so a run is never wrong and rarely does the work.
- Computing is idempotent and keyed by the digest of the analysis version, the concept vocabulary
  and the analysed text: a re-delivered task finds every row current and analyses nothing; a change
  that leaves the text alone only records the new row version.
- The terms are exactly what matching computed from the text before they were stored: title terms
  weighted ``TITLE_WEIGHT``, the description and keywords once, concepts found over both; the
  counts are stored as ``[term, count]`` pairs in the order of the text, because a run's sums run
  in that order (PostgreSQL's jsonb would reorder an object's keys, and floating-point sums in
  another order can differ in the last bit).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery

from kb.models import ENTRY_MODELS, EntryKind, EntryTerms
from kb.search import analysis
from kb.search.concepts import ConceptMatcher, concept_matcher

#: Title words count like this many body words.
TITLE_WEIGHT = 2
#: Entries per reconcile step.
CHUNK = 500


@dataclass
class Terms:
    """An entry's analysed text: weighted term counts, for needs a word of the text per term (the
    reasons quote it), and the concepts the text mentions."""

    counts: Counter
    surface: dict[str, str]
    concepts: frozenset[str]


def entry_body(description: str, keywords: Iterable[str] | None) -> str:
    return "\n".join([description, " ".join(str(k) for k in keywords or [])])


def version(matcher: ConceptMatcher) -> str:
    """The analysis and the concept vocabulary terms are computed with."""
    return f"a{analysis.VERSION}-c{matcher.digest}"


def analyse_entry(
    title: str, description: str, keywords: Iterable[str] | None, language: str, *, kind: str, matcher: ConceptMatcher
) -> Terms:
    """Analyse one entry's text (what a run used to do for every entry)."""
    body = entry_body(description, keywords)
    with_surface = kind == EntryKind.NEED
    counts: Counter = Counter()
    surface: dict[str, str] = {}
    ordered: list[str] = []
    for text, weight in ((title, TITLE_WEIGHT), (body, 1)):
        if with_surface:
            terms = []
            for token in analysis.tokens(text, language):
                terms.append(token.term)
                surface.setdefault(token.term, text[token.start : token.end])
        else:
            terms = analysis.analyse(text, language)
        for term in terms:
            counts[term] += weight
        ordered += terms
    concepts = matcher.find(f"{title}\n{body}", language, analysed=ordered)
    return Terms(counts, surface, frozenset(concepts))


def _digest(current: str, row: dict) -> str:
    content = "\x1e".join([current, row["language_id"], row["title"], entry_body(row["description"], row["keywords"])])
    return hashlib.sha1(content.encode("utf-8")).hexdigest()


_ROW_FIELDS = ("id", "row_version", "title", "description", "keywords", "language_id")


@dataclass
class ComputeReport:
    computed: list[int] = field(default_factory=list)
    touched: int = 0  # row version recorded, nothing analysed
    removed: int = 0


def _store(kind: str, current: str, items: list[tuple[dict, str, Terms]]) -> None:
    rows = [
        EntryTerms(
            entry_kind=kind,
            entry_id=row["id"],
            version=current,
            row_version=row["row_version"],
            content_hash=digest,
            counts=list(terms.counts.items()),
            surface=terms.surface,
            concepts=sorted(terms.concepts),
        )
        for row, digest, terms in items
    ]
    EntryTerms.objects.bulk_create(
        rows,
        batch_size=500,
        update_conflicts=True,
        unique_fields=["entry_kind", "entry_id"],
        update_fields=["version", "row_version", "content_hash", "counts", "surface", "concepts", "computed_at"],
    )


def entry_terms_compute(*, kind: str, entry_ids: Iterable[int]) -> ComputeReport:
    """Bring the stored terms of these entries up to date; return what changed."""
    ids = sorted(set(entry_ids))
    report = ComputeReport()
    if not ids:
        return report
    rows = {r["id"]: r for r in ENTRY_MODELS[kind].objects.filter(pk__in=ids).values(*_ROW_FIELDS)}
    gone = [i for i in ids if i not in rows]
    if gone:
        report.removed = EntryTerms.objects.filter(entry_kind=kind, entry_id__in=gone).delete()[0]
    matcher = concept_matcher()
    current = version(matcher)
    existing = {
        entry_id: (digest, row_version)
        for entry_id, digest, row_version in EntryTerms.objects.filter(entry_kind=kind, entry_id__in=ids).values_list(
            "entry_id", "content_hash", "row_version"
        )
    }
    pending: list[tuple[dict, str, Terms]] = []
    for entry_id, row in rows.items():
        digest = _digest(current, row)
        stored = existing.get(entry_id)
        if stored is not None and stored[0] == digest:
            if stored[1] != row["row_version"]:
                EntryTerms.objects.filter(entry_kind=kind, entry_id=entry_id).update(row_version=row["row_version"])
                report.touched += 1
            continue
        terms = analyse_entry(
            row["title"], row["description"], row["keywords"], row["language_id"], kind=kind, matcher=matcher
        )
        pending.append((row, digest, terms))
    with transaction.atomic():
        _store(kind, current, pending)
    report.computed = [row["id"] for row, _digest_, _terms in pending]
    return report


def entry_terms(kind: str, rows: list[dict]) -> tuple[dict[int, Terms], int]:
    """The terms of these entries (rows holding ``_ROW_FIELDS``, as ``kb.search.documents.entry_rows``
    gives them), read from storage; missing or stale ones are analysed now and stored. Returns the
    terms by entry id and how many had to be analysed."""
    if not rows:
        return {}, 0
    matcher = concept_matcher()
    current = version(matcher)
    stored = EntryTerms.objects.filter(entry_kind=kind, entry_id__in=[r["id"] for r in rows]).values_list(
        "entry_id", "content_hash", "counts", "surface", "concepts"
    )
    found = {entry_id: (digest, counts, surface, concepts) for entry_id, digest, counts, surface, concepts in stored}
    result: dict[int, Terms] = {}
    pending: list[tuple[dict, str, Terms]] = []
    for row in rows:
        digest = _digest(current, row)
        hit = found.get(row["id"])
        if hit is not None and hit[0] == digest:
            result[row["id"]] = Terms(Counter(dict(hit[1])), hit[2], frozenset(hit[3]))
            continue
        terms = analyse_entry(
            row["title"], row["description"], row["keywords"], row["language_id"], kind=kind, matcher=matcher
        )
        result[row["id"]] = terms
        pending.append((row, digest, terms))
    if pending:
        pending.sort(key=lambda item: item[0]["id"])  # concurrent upserts take row locks in one order
        with transaction.atomic():
            _store(kind, current, pending)
    return result, len(pending)


def stale_entry_ids(kind: str, limit: int | None = None) -> list[int]:
    """Entries whose terms are missing, of another analysis version, or behind their row version."""
    current = version(concept_matcher())
    terms = EntryTerms.objects.filter(entry_kind=kind, entry_id=OuterRef("pk"))
    queryset = (
        ENTRY_MODELS[kind]
        .objects.annotate(
            terms_version=Subquery(terms.values("version")[:1]),
            terms_row_version=Subquery(terms.values("row_version")[:1]),
        )
        .filter(Q(terms_version__isnull=True) | ~Q(terms_version=current) | Q(terms_row_version__lt=F("row_version")))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(queryset[:limit] if limit else queryset)


def entry_terms_reconcile(*, limit_per_kind: int | None = None) -> dict[str, int]:
    """Compute what is missing or stale, drop rows of deleted entries; return counts per kind."""
    result: dict[str, int] = {}
    for kind, model in ENTRY_MODELS.items():
        EntryTerms.objects.filter(entry_kind=kind).exclude(entry_id__in=model.objects.values("pk")).delete()
        stale = stale_entry_ids(kind, limit=limit_per_kind)
        done = 0
        for start in range(0, len(stale), CHUNK):
            report = entry_terms_compute(kind=kind, entry_ids=stale[start : start + CHUNK])
            done += len(report.computed) + report.touched
        result[kind] = done
    return result
