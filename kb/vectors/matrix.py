"""The published entries' text vectors of one kind as one matrix, for exact cosine search.

The embedded search backend has no vector index: it answers kNN queries with numpy over this
matrix (10,000 offers x 512 dimensions are 20 MB). The matrix is read from the database once and
kept per process until its fingerprint changes (vectors computed, entries published or withdrawn),
which two aggregate queries tell cheaply.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
from django.db.models import Count, Max

from kb.models import ENTRY_MODELS, EntryKind, EntryStatus, EntryVector
from kb.vectors.encoders import get_encoder


@dataclass(frozen=True)
class VectorMatrix:
    ids: np.ndarray  # entry ids, one per row
    countries: np.ndarray  # ISO3 of each entry ("" for international organisations)
    vectors: np.ndarray  # (rows, dim) float32, unit rows

    def nearest(self, vector: np.ndarray, size: int, exclude_country: str = "") -> list[tuple[int, float]]:
        if not len(self.ids) or vector.shape[0] != self.vectors.shape[1]:
            return []
        similarity = self.vectors @ vector.astype(np.float32)
        if exclude_country:
            similarity = np.where(self.countries == exclude_country, -np.inf, similarity)
        size = min(size, len(similarity))
        best = np.argpartition(-similarity, size - 1)[:size]
        best = best[np.lexsort((self.ids[best], -similarity[best]))]
        return [(int(self.ids[i]), float(similarity[i])) for i in best if np.isfinite(similarity[i])]

    def nearest_many(
        self, vectors: np.ndarray, size: int, exclude_countries: list[str], block: int = 256
    ) -> list[list[tuple[int, float]]]:
        """``nearest`` for many query vectors (rows of ``vectors``) with one matrix product per
        ``block`` of queries instead of one matrix-vector product each: a full run asks for
        thousands. Best first, ties by id; entries of each query's excluded country never."""
        if not len(vectors):
            return []
        if not len(self.ids) or vectors.shape[1] != self.vectors.shape[1]:
            return [[] for _ in range(len(vectors))]
        codes = {country: code for code, country in enumerate(sorted(set(self.countries.tolist())))}
        row_codes = np.array([codes[c] for c in self.countries.tolist()], dtype=np.int64)
        size = min(size, len(self.ids))
        results: list[list[tuple[int, float]]] = []
        for start in range(0, len(vectors), block):
            queries = vectors[start : start + block].astype(np.float32)
            similarity = queries @ self.vectors.T
            excluded = np.array(
                [codes.get(c, -1) if c else -1 for c in exclude_countries[start : start + block]], dtype=np.int64
            )
            similarity[(row_codes[None, :] == excluded[:, None]) & (excluded[:, None] >= 0)] = -np.inf
            best = np.argpartition(-similarity, size - 1, axis=1)[:, :size]
            scores = np.take_along_axis(similarity, best, axis=1)
            order = np.lexsort((self.ids[best], -scores), axis=1)
            best, scores = np.take_along_axis(best, order, axis=1), np.take_along_axis(scores, order, axis=1)
            for ids, row_scores in zip(self.ids[best].tolist(), scores.tolist(), strict=True):
                results.append([(i, s) for i, s in zip(ids, row_scores, strict=True) if s != -np.inf])
        return results


_cache: dict[str, tuple[tuple, VectorMatrix]] = {}
_lock = threading.Lock()


def _fingerprint(kind: str, version: str) -> tuple:
    vectors = EntryVector.objects.filter(entry_kind=kind, encoder_version=version).aggregate(
        n=Count("id"), last=Max("computed_at")
    )
    entries = (
        ENTRY_MODELS[kind].objects.filter(status=EntryStatus.PUBLISHED).aggregate(n=Count("id"), last=Max("updated_at"))
    )
    return (version, vectors["n"], vectors["last"], entries["n"], entries["last"])


def published_matrix(kind: str) -> VectorMatrix:
    encoder = get_encoder()
    empty = VectorMatrix(np.zeros(0, np.int64), np.zeros(0, dtype="<U3"), np.zeros((0, encoder.dim), np.float32))
    if not encoder.enabled:
        return empty
    fingerprint = _fingerprint(kind, encoder.version)
    cached = _cache.get(kind)
    if cached is not None and cached[0] == fingerprint:
        return cached[1]
    with _lock:
        model = ENTRY_MODELS[kind]
        place = "organisation__country__iso3" if kind == EntryKind.OFFER else "country__iso3"
        countries = dict(model.objects.filter(status=EntryStatus.PUBLISHED).values_list("pk", place))
        rows = EntryVector.objects.filter(
            entry_kind=kind, encoder_version=encoder.version, entry_id__in=list(countries)
        ).values_list("entry_id", "vector")
        ids, vectors = [], []
        for entry_id, data in rows.iterator(chunk_size=2000):
            ids.append(entry_id)
            vectors.append(np.frombuffer(bytes(data), dtype=np.float32))
        if not ids:
            matrix = empty
        else:
            matrix = VectorMatrix(
                ids=np.asarray(ids, np.int64),
                countries=np.asarray([countries[i] or "" for i in ids], dtype="<U3"),
                vectors=np.vstack(vectors),
            )
        _cache[kind] = (fingerprint, matrix)
        return matrix


def forget_matrices() -> None:
    _cache.clear()
