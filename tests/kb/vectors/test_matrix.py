"""Exact kNN over a vector matrix: many queries at once answer what one query at a time does."""

from __future__ import annotations

import numpy as np

from kb.vectors.matrix import VectorMatrix


def _matrix(rng: np.random.Generator, rows: int, dim: int) -> VectorMatrix:
    vectors = rng.normal(size=(rows, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    countries = np.asarray(rng.choice(["CIV", "RWA", "PRY", ""], size=rows), dtype="<U3")
    return VectorMatrix(ids=rng.permutation(rows * 3)[:rows].astype(np.int64), countries=countries, vectors=vectors)


def test_nearest_many_equals_nearest_one_by_one():
    rng = np.random.default_rng(4)
    matrix = _matrix(rng, 700, 16)
    queries = rng.normal(size=(300, 16)).astype(np.float32)
    excluded = list(rng.choice(["CIV", "RWA", "", "KOR"], size=300))
    many = matrix.nearest_many(queries, 25, excluded, block=64)
    assert len(many) == 300
    for query, country, hits in zip(queries, excluded, many, strict=True):
        one = matrix.nearest(query, 25, country)
        assert [i for i, _s in hits] == [i for i, _s in one]
        assert np.allclose([s for _i, s in hits], [s for _i, s in one], atol=1e-5)
        kept = set(matrix.countries[np.isin(matrix.ids, [i for i, _s in hits])])
        assert not country or country not in kept


def test_ties_by_id_and_excluded_rows_never_returned():
    vectors = np.tile(np.array([[1.0, 0.0]], np.float32), (4, 1))
    matrix = VectorMatrix(ids=np.array([9, 3, 7, 1]), countries=np.array(["CIV", "RWA", "CIV", "RWA"]), vectors=vectors)
    [hits] = matrix.nearest_many(np.array([[1.0, 0.0]], np.float32), 10, ["CIV"])
    assert [i for i, _s in hits] == [1, 3]


def test_other_dimension_or_empty_matrix_finds_nothing():
    matrix = _matrix(np.random.default_rng(1), 5, 8)
    assert matrix.nearest_many(np.zeros((2, 4), np.float32), 3, ["", ""]) == [[], []]
    assert matrix.nearest_many(np.zeros((0, 8), np.float32), 3, []) == []
