"""Computing and reconciling entry vectors (``kb.models.EntryVector``).

Invariants:
- Vectors are computed after commit, by a task that takes ids (``entry_vectors_task``), and by the
  periodic reconcile; never inside a matching run (runs read them).
- Computing is idempotent and keyed by the entry's row version and the encoder's version: a
  re-delivered task finds every row current and encodes nothing; a change that leaves the encoded
  text alone (a status change) only records the new row version.
- Work is batched (``BATCH`` entries per encoder call, ``CHUNK`` entries per task), so a bulk
  import of thousands of entries never holds a transaction or a lock while encoding.
- Deleted entries lose their rows; with the ``none`` encoder there are no rows at all.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
from django.db import transaction
from django.db.models import F, OuterRef, Q, Subquery

from kb.models import ENTRY_MODELS, EntryKind, EntryVector
from kb.models.vectors import sentence_matrix
from kb.signals import entry_features_ready, entry_vectors_changed
from kb.vectors.encoders import EncoderUnavailable, Role, TextEncoder, get_encoder

logger = logging.getLogger(__name__)

#: The whole-text vector reads at most this much text (about 1,000 tokens).
MAX_TEXT_CHARS = 4000
#: Sentences kept per entry for reasons, and their length.
MAX_SENTENCES = 40
MAX_SENTENCE_CHARS = 400
MIN_SENTENCE_CHARS = 8
#: Entries per encoder call, and per task / reconcile step.
BATCH = 32
CHUNK = 256

# A sentence ends at . ! ? (and their CJK and Arabic forms) followed by space, or at a line break;
# CJK full stops need no space after them.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？؟])\s*|\n+")


def entry_text(title: str, description: str, keywords: Iterable[str] | None) -> str:
    """What the whole-text vector encodes: title, description and keywords, capped."""
    parts = [title.strip(), description.strip(), ", ".join(str(k) for k in (keywords or []) if str(k).strip())]
    return "\n".join(p for p in parts if p)[:MAX_TEXT_CHARS]


def topics_line(keywords: Iterable[str] | None, labels: Iterable[str] = ()) -> str:
    """An offer's own summary of its topics: its keywords and thematic areas, as one "sentence".

    Compared with a need, this short line often says what the offer is about better than its
    prose, which also tells who funded what and when.
    """
    items = [str(k).strip() for k in (keywords or []) if str(k).strip()]
    items += [label for label in labels if label and label not in items]
    return ", ".join(items)[:MAX_SENTENCE_CHARS]


def split_sentences(text: str) -> list[str]:
    """The text's sentences as written (for quoting), without fragments too short to say anything."""
    sentences = []
    for piece in _SENTENCE_END.split(text[: MAX_TEXT_CHARS * 2]):
        piece = piece.strip()
        if len(piece) < MIN_SENTENCE_CHARS:
            continue
        if len(piece) > MAX_SENTENCE_CHARS:
            cut = piece.rfind(" ", 0, MAX_SENTENCE_CHARS)
            piece = piece[: cut if cut > MAX_SENTENCE_CHARS // 2 else MAX_SENTENCE_CHARS].rstrip() + "…"
        sentences.append(piece)
        if len(sentences) == MAX_SENTENCES:
            break
    return sentences


def _digest(encoder: TextEncoder, text: str, sentences: list[str]) -> str:
    content = "\x1e".join([encoder.version, text, *sentences])
    return hashlib.sha1(content.encode("utf-8")).hexdigest()


@dataclass
class _Pending:
    entry_id: int
    row_version: int
    text: str
    sentences: list[str]
    digest: str


@dataclass
class ComputeReport:
    computed: list[int] = field(default_factory=list)
    touched: int = 0  # row version recorded, nothing encoded
    removed: int = 0


def entry_vectors_compute(*, kind: str, entry_ids: Iterable[int], encoder: TextEncoder | None = None) -> ComputeReport:
    """Bring the vectors of these entries up to date; return what changed."""
    encoder = encoder or get_encoder()
    ids = sorted(set(entry_ids))
    report = ComputeReport()
    if not ids:
        return report
    model = ENTRY_MODELS[kind]
    rows = {
        r["id"]: r
        for r in model.objects.filter(pk__in=ids).values("id", "row_version", "title", "description", "keywords")
    }
    themes = _theme_labels(model, list(rows)) if kind == EntryKind.OFFER else {}
    existing = {v.entry_id: v for v in EntryVector.objects.filter(entry_kind=kind, entry_id__in=ids)}
    gone = [i for i in ids if i not in rows or not encoder.enabled]
    if gone:
        report.removed = EntryVector.objects.filter(entry_kind=kind, entry_id__in=gone).delete()[0]
    if not encoder.enabled:
        return report
    pending: list[_Pending] = []
    for entry_id, row in rows.items():
        text = entry_text(row["title"], row["description"], row["keywords"])
        sentences = []
        if kind == EntryKind.OFFER:
            sentences = split_sentences(row["description"])
            topics = topics_line(row["keywords"], themes.get(entry_id, ()))
            if len(topics) >= MIN_SENTENCE_CHARS:
                sentences.append(topics)
        digest = _digest(encoder, text, sentences)
        current = existing.get(entry_id)
        if current is not None and current.content_hash == digest:
            if current.row_version != row["row_version"]:
                EntryVector.objects.filter(pk=current.pk).update(row_version=row["row_version"])
                report.touched += 1
            continue
        pending.append(_Pending(entry_id, row["row_version"], text, sentences, digest))
    role: Role = "query" if kind == EntryKind.NEED else "passage"
    for start in range(0, len(pending), BATCH):
        batch = pending[start : start + BATCH]
        vectors = encoder.encode([p.text for p in batch], role=role)
        flat = [s for p in batch for s in p.sentences]
        sentence_vectors = encoder.encode(flat, role=role) if flat else np.zeros((0, encoder.dim), np.float32)
        offset = 0
        with transaction.atomic():
            for item, vector in zip(batch, vectors, strict=True):
                own = sentence_vectors[offset : offset + len(item.sentences)]
                offset += len(item.sentences)
                EntryVector.objects.update_or_create(
                    entry_kind=kind,
                    entry_id=item.entry_id,
                    defaults={
                        "encoder": encoder.name,
                        "encoder_version": encoder.version,
                        "row_version": item.row_version,
                        "content_hash": item.digest,
                        "dim": encoder.dim,
                        "vector": vector.astype(np.float32).tobytes(),
                        "sentences": item.sentences,
                        "sentence_vectors": own.astype(np.float16).tobytes(),
                    },
                )
        report.computed += [p.entry_id for p in batch]
    return report


def _theme_labels(model, ids: list[int]) -> dict[int, list[str]]:
    """English labels of the entries' thematic areas (the encoders are multilingual)."""
    through = model.thematic_areas.through
    source = f"{model._meta.model_name}_id"
    labels: dict[int, list[str]] = {}
    for entry_id, label in through.objects.filter(**{f"{source}__in": ids}).values_list(
        source, "thematicarea__label_en"
    ):
        labels.setdefault(entry_id, []).append(label)
    return {k: sorted(v) for k, v in labels.items()}


def entry_vectors_update(*, kind: str, entry_ids: Iterable[int]) -> ComputeReport:
    """After a committed change: bring the vectors up to date, re-index the entries whose vector
    changed (the index carries it), then let matching react (``entry_features_ready``).

    An encoder that cannot load degrades semantic matching only: the change still reaches
    matching, which scores without the missing vectors, and the reconcile retries later.
    """
    ids = sorted(set(entry_ids))
    try:
        report = entry_vectors_compute(kind=kind, entry_ids=ids)
    except EncoderUnavailable:
        logger.warning(
            "text encoder unavailable: vectors of %s %s left to the reconcile", kind, ids[:20], exc_info=True
        )
        report = ComputeReport()
    if report.computed:
        entry_vectors_changed.send(sender=kind, ids=report.computed)
    entry_features_ready.send(sender=kind, ids=ids)
    return report


def stale_entry_ids(kind: str, encoder: TextEncoder | None = None, limit: int | None = None) -> list[int]:
    """Entries whose vector is missing, of another encoder version, or behind their row version."""
    encoder = encoder or get_encoder()
    if not encoder.enabled:
        return []
    vectors = EntryVector.objects.filter(entry_kind=kind, entry_id=OuterRef("pk"))
    queryset = (
        ENTRY_MODELS[kind]
        .objects.annotate(
            vector_version=Subquery(vectors.values("encoder_version")[:1]),
            vector_row_version=Subquery(vectors.values("row_version")[:1]),
        )
        .filter(
            Q(vector_version__isnull=True)
            | ~Q(vector_version=encoder.version)
            | Q(vector_row_version__lt=F("row_version"))
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return list(queryset[:limit] if limit else queryset)


def entry_vectors_reconcile(*, limit_per_kind: int | None = None) -> dict[str, int]:
    """Compute what is missing or stale, drop rows of deleted entries; return counts per kind."""
    encoder = get_encoder()
    result: dict[str, int] = {}
    for kind, model in ENTRY_MODELS.items():
        orphans = EntryVector.objects.filter(entry_kind=kind).exclude(entry_id__in=model.objects.values("pk"))
        if not encoder.enabled:
            orphans = EntryVector.objects.filter(entry_kind=kind)
        orphans.delete()
        stale = stale_entry_ids(kind, encoder, limit=limit_per_kind)
        computed = 0
        for start in range(0, len(stale), CHUNK):
            report = entry_vectors_compute(kind=kind, entry_ids=stale[start : start + CHUNK], encoder=encoder)
            computed += len(report.computed) + report.touched
            if report.computed:
                entry_vectors_changed.send(sender=kind, ids=report.computed)
        result[kind] = computed
    return result


def entry_vectors(kind: str, entry_ids: Iterable[int] | None = None) -> dict[int, np.ndarray]:
    """Current whole-text vectors by entry id (entries without a current vector are left out)."""
    encoder = get_encoder()
    if not encoder.enabled:
        return {}
    queryset = EntryVector.objects.filter(entry_kind=kind, encoder_version=encoder.version)
    if entry_ids is not None:
        queryset = queryset.filter(entry_id__in=list(entry_ids))
    return {
        entry_id: np.frombuffer(bytes(data), dtype=np.float32)
        for entry_id, data in queryset.values_list("entry_id", "vector").iterator(chunk_size=2000)
    }


def entry_sentence_vectors(kind: str, entry_ids: Iterable[int]) -> dict[int, np.ndarray]:
    """Sentence vectors by entry id (float16 as stored, one row per sentence) for the current encoder."""
    encoder = get_encoder()
    if not encoder.enabled:
        return {}
    rows = EntryVector.objects.filter(
        entry_kind=kind, entry_id__in=list(entry_ids), encoder_version=encoder.version
    ).values_list("entry_id", "sentence_vectors", "dim")
    return {entry_id: sentence_matrix(data, dim, np.float16) for entry_id, data, dim in rows.iterator(chunk_size=2000)}


def entry_sentences(kind: str, entry_ids: Iterable[int]) -> dict[int, tuple[list[str], np.ndarray]]:
    """Sentences and their vectors by entry id (for reasons)."""
    encoder = get_encoder()
    if not encoder.enabled:
        return {}
    rows = EntryVector.objects.filter(
        entry_kind=kind, entry_id__in=list(entry_ids), encoder_version=encoder.version
    ).values_list("entry_id", "sentences", "sentence_vectors", "dim")
    return {entry_id: (sentences, sentence_matrix(data, dim)) for entry_id, sentences, data, dim in rows}
