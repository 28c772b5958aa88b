"""Scoring in bulk: the components of every candidate pair of a batch of needs at once.

The arithmetic is ``matching.scoring``'s (``is_candidate``, ``components_of``, ``score_of``),
which stays the readable definition of a score; a test compares the two on random pairs. Here the
same operations run over arrays with one element per pair instead of one Python call per pair:

- the sets a component compares (UNCAC articles and their chapters, TA types, thematic areas, and
  which of them are tagged; working languages; regions served) become bitsets of 64-bit words per
  entry, so an overlap is a ``popcount`` of an ``and`` for all pairs;
- the TF-IDF cosine of two texts is the row-wise product of two sparse matrices (offers × terms and
  needs × terms);
- the semantic cosine is the need's vector against its candidates' sentence vectors, one matrix
  product per need (``scoring.semantic_cosines``);
- the weighted means add the components in the order ``score_of`` does, so scores agree to the
  last bit wherever the components do.

The offers' table is built once per run (``OfferTable.build``); a batch of needs is compared with
it in ``score_needs``. Only the pairs that are kept become ``ScoredPair`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from matching.features import Features
from matching.scoring import (
    CHAPTER_CREDIT,
    CONTEXT,
    EVIDENCE,
    FEEDBACK_PRIOR_COUNT,
    FEEDBACK_PRIOR_MEAN,
    TEXT_SATURATION,
    TOPICAL,
)

_WORD = 64


class Codes:
    """Bit positions of the codes of one kind (article numbers, theme codes, …)."""

    def __init__(self) -> None:
        self.position: dict = {}

    def add(self, values) -> None:
        for value in values:
            self.position.setdefault(value, len(self.position))

    @property
    def words(self) -> int:
        return max(1, -(-len(self.position) // _WORD))

    def bits(self, sets: list, words: int | None = None) -> np.ndarray:
        """One row of ``words`` uint64 per set; codes this book does not know are left out (they
        cannot be shared with anything it describes)."""
        words = words or self.words
        rows = np.zeros((len(sets), words), dtype=np.uint64)
        for row, values in enumerate(sets):
            for value in values:
                position = self.position.get(value)
                if position is not None:
                    rows[row, position // _WORD] |= np.uint64(1 << (position % _WORD))
        return rows


def _count(bits: np.ndarray) -> np.ndarray:
    """How many bits are set in each row."""
    return np.bitwise_count(bits).sum(axis=1, dtype=np.int64)


def _widen(bits: np.ndarray, words: int) -> np.ndarray:
    if bits.shape[1] >= words:
        return bits
    return np.hstack([bits, np.zeros((bits.shape[0], words - bits.shape[1]), dtype=np.uint64)])


def _sizes(sets: list) -> np.ndarray:
    return np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))


@dataclass
class Entries:
    """The arrays of one side (the offers, or a batch of needs): row i describes ``features[i]``."""

    features: list[Features]
    country: np.ndarray  # index in the table's countries; -1 for none, -2 for one no offer has
    south: np.ndarray  # in the Global South by the run's definition
    language: np.ndarray  # index of the text's language
    region: np.ndarray  # index of the region's name, -1 for none
    subregion: np.ndarray
    languages: np.ndarray  # bits of the working languages (and the text's)
    places: np.ndarray  # bits of the region and sub-region (against offers' regions served)
    articles: np.ndarray  # bits
    article_tags: np.ndarray
    chapters: np.ndarray
    ta_types: np.ndarray
    ta_type_tags: np.ndarray
    themes: np.ndarray
    theme_tags: np.ndarray
    article_tags_n: np.ndarray  # sizes of the sets, codes unknown to the offers included
    articles_n: np.ndarray
    ta_types_n: np.ndarray
    themes_n: np.ndarray
    text: sparse.csr_matrix  # L2-normalised TF-IDF over the offers' terms


class OfferTable:
    """The offers of a run as arrays, and the code books needs are compared through. Built once
    per full run; each batch of needs is turned into arrays against it (``needs``)."""

    def __init__(self, offers: dict[int, Features], definition: str) -> None:
        listed = list(offers.values())
        self.definition = definition
        self.row = {offer_id: row for row, offer_id in enumerate(offers)}
        self.ids = np.fromiter(offers, dtype=np.int64, count=len(listed))
        self.countries: dict[str, int] = {}
        self.names: dict[str, int] = {}
        self.terms: dict[str, int] = {}
        self.articles, self.chapters = Codes(), Codes()
        self.ta_types, self.themes, self.languages, self.regions = Codes(), Codes(), Codes(), Codes()
        self.chapter_of: dict[int, int] = {}
        for f in listed:
            self.ta_types.add(f.ta_types)
            self.themes.add(f.themes)
            self.languages.add(f.languages)
            self.regions.add(f.regions_served)
            for term in f.vector:
                self.terms.setdefault(term, len(self.terms))
        self.offers = self._entries(listed, offers_side=True)
        self.serves_anywhere = np.array([not f.regions_served for f in listed], dtype=bool)
        self.regions_served = self.regions.bits([f.regions_served for f in listed])
        self.has_article_tags = self.offers.article_tags_n > 0
        self.capacity = np.array(
            [f.capacity_left / f.capacity_total if f.capacity_total else 0.0 for f in listed], dtype=np.float64
        )
        self.feedback_known = np.array([bool(f.feedback_count) for f in listed], dtype=bool)
        feedback = []
        for f in listed:
            if f.feedback_count and f.feedback_average is not None:  # an average of at least one rating
                total = f.feedback_average * f.feedback_count + FEEDBACK_PRIOR_MEAN * FEEDBACK_PRIOR_COUNT
                feedback.append((total / (f.feedback_count + FEEDBACK_PRIOR_COUNT) - 1) / 4)
            else:
                feedback.append(np.nan)
        self.feedback = np.array(feedback, dtype=np.float64)
        self._sentences(listed)

    def _sentences(self, listed: list[Features]) -> None:
        """The rows ``scoring.semantic_cosines`` compares a need with, for all offers in one
        float32 matrix (converted once per run rather than once per pair): each offer's sentence
        vectors, or its whole-text vector when it has none; no rows without a vector."""
        blocks, counts = [], np.zeros(len(listed), dtype=np.int64)
        for row, f in enumerate(listed):
            if f.embedding is None:
                continue
            sentences = f.sentence_embeddings
            if sentences is not None and len(sentences) and sentences.shape[1] == len(f.embedding):
                block = sentences
            else:
                block = f.embedding[None, :]
            blocks.append(block.astype(np.float32))
            counts[row] = len(block)
        self.sentence_count = counts
        self.sentence_start = np.cumsum(counts) - counts
        dim = blocks[0].shape[1] if blocks else 0
        self.sentence_vectors = np.concatenate(blocks) if blocks else np.zeros((0, dim), np.float32)

    def semantic(self, need: Features, offer_rows: np.ndarray) -> np.ndarray:
        """``scoring.semantic_cosines`` of one need against offers (rows of this table), NaN where
        either side has no vector."""
        result = np.full(len(offer_rows), np.nan)
        vectors = self.sentence_vectors
        if need.embedding is None or not len(offer_rows) or need.embedding.shape[0] != vectors.shape[1]:
            return result
        counts = self.sentence_count[offer_rows]
        present = counts > 0
        counts = counts[present]
        if not len(counts):
            return result
        ends = np.cumsum(counts)
        rows = (
            np.arange(ends[-1])
            - np.repeat(ends - counts, counts)
            + np.repeat(self.sentence_start[offer_rows][present], counts)
        )
        similarities = vectors[rows] @ need.embedding.astype(np.float32)
        result[present] = np.maximum.reduceat(similarities, ends - counts)
        return result

    def needs(self, listed: list[Features]) -> Entries:
        return self._entries(listed, offers_side=False)

    def _index(self, book: dict[str, int], value: str, grow: bool) -> int:
        if not value:
            return -1
        if value not in book:
            if not grow:
                return -2
            book[value] = len(book)
        return book[value]

    def _entries(self, listed: list[Features], offers_side: bool) -> Entries:
        # Articles and chapters count on both sides (a need's coverage is over all of its
        # articles), so their books grow with the needs; the offers' bits are widened to match.
        for f in listed:
            self.articles.add(f.articles)
            self.chapter_of.update(f.chapter_of)
            self.chapters.add(f.chapters)
        self.chapters.add(self.chapter_of.values())
        indptr, indices, data = [0], [], []
        for f in listed:
            for term, weight in f.vector.items():
                column = self.terms.get(term)
                if column is not None:
                    indices.append(column)
                    data.append(weight)
            indptr.append(len(indices))
        text = sparse.csr_matrix(
            (np.array(data, dtype=np.float64), np.array(indices, dtype=np.int64), np.array(indptr, dtype=np.int64)),
            shape=(len(listed), len(self.terms)),
        )

        def names(prefix: str, values) -> np.ndarray:
            return np.array(
                [self._index(self.names, f"{prefix}:{v}" if v else "", True) for v in values], dtype=np.int64
            )

        return Entries(
            features=listed,
            country=np.array([self._index(self.countries, f.country_id, offers_side) for f in listed], dtype=np.int64),
            south=np.array([f.global_south(self.definition) for f in listed], dtype=bool),
            language=names("language", (f.language for f in listed)),
            region=names("region", (f.region for f in listed)),
            subregion=names("region", (f.subregion for f in listed)),
            languages=self.languages.bits([f.languages for f in listed]),
            places=self.regions.bits([{f.region, f.subregion} for f in listed]),
            articles=self.articles.bits([f.articles for f in listed]),
            article_tags=self.articles.bits([f.article_tags for f in listed]),
            chapters=self.chapters.bits([f.chapters for f in listed]),
            ta_types=self.ta_types.bits([f.ta_types for f in listed]),
            ta_type_tags=self.ta_types.bits([f.ta_type_tags for f in listed]),
            themes=self.themes.bits([f.themes for f in listed]),
            theme_tags=self.themes.bits([f.theme_tags for f in listed]),
            article_tags_n=_sizes([f.article_tags for f in listed]),
            articles_n=_sizes([f.articles for f in listed]),
            ta_types_n=_sizes([f.ta_types for f in listed]),
            themes_n=_sizes([f.themes for f in listed]),
            text=text,
        )

    def chapter_masks(self) -> list[tuple[int, np.ndarray]]:
        """Each chapter's bit, with the bits of its articles (one row)."""
        by_chapter: dict[int, set[int]] = {}
        for article, chapter in self.chapter_of.items():
            by_chapter.setdefault(chapter, set()).add(article)
        return [(self.chapters.position[c], self.articles.bits([arts])) for c, arts in sorted(by_chapter.items())]


def _has_bit(bits: np.ndarray, position: int) -> np.ndarray:
    word = bits[:, position // _WORD] if position // _WORD < bits.shape[1] else np.zeros(len(bits), np.uint64)
    return ((word >> np.uint64(position % _WORD)) & np.uint64(1)) == 1


def _overlap(
    wanted: np.ndarray, offered: np.ndarray, wanted_tags: np.ndarray, offered_tags: np.ndarray, wanted_n: np.ndarray
) -> np.ndarray:
    """``scoring._overlap`` for every pair (rows of the four bit arrays); NaN where nothing is wanted."""
    shared = wanted & offered
    shared_n = _count(shared)
    both = _count(shared & wanted_tags & offered_tags)
    one = _count(shared & (wanted_tags | offered_tags)) - both
    none = shared_n - both - one
    value = (EVIDENCE[0] * both + EVIDENCE[1] * one + EVIDENCE[2] * none) / np.maximum(wanted_n, 1)
    return np.where(wanted_n == 0, np.nan, np.where(shared_n == 0, 0.0, value))


def eligible(table: OfferTable, needs: Entries, n: np.ndarray, o: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``scoring.is_candidate`` and ``scoring.is_south_south`` for the pairs (n[i], o[i])."""
    offers = table.offers
    south_south = (offers.country[o] != -1) & needs.south[n] & offers.south[o]
    same_state = (needs.country[n] >= 0) & (needs.country[n] == offers.country[o])
    served = table.serves_anywhere[o] | (_count(table.regions_served[o] & needs.places[n]) > 0)
    requires = np.array([f.south_south == "require" for f in needs.features], dtype=bool)[n]
    return ~same_state & served & ~(requires & ~south_south), south_south


def pair_components(
    table: OfferTable,
    needs: Entries,
    n: np.ndarray,
    o: np.ndarray,
    semantic: np.ndarray,
    semantic_range: tuple[float, float],
    south_south: np.ndarray,
) -> dict[str, np.ndarray]:
    """``scoring.components_of`` for the pairs (needs row n[i], offers row o[i]); NaN where a
    component does not apply. ``semantic``: each pair's semantic cosine (NaN without vectors)."""
    offers = table.offers
    components: dict[str, np.ndarray] = {}

    same_language = needs.language[n] == offers.language[o]
    cosine = np.asarray(needs.text[n].multiply(offers.text[o]).sum(axis=1), dtype=np.float64).ravel()
    components["text"] = np.where(same_language, np.minimum(1.0, cosine / TEXT_SATURATION), np.nan)

    floor, ceiling = semantic_range
    strength = np.minimum(1.0, np.maximum(0.0, (semantic - floor) / max(ceiling - floor, 1e-6)))
    components["semantic"] = np.where(np.isnan(semantic), np.nan, strength)

    # scoring.article_overlap: coverage and focus with chapter credit, weighted by evidence.
    words = table.articles.words
    wanted = _widen(needs.article_tags, words)[n]
    offered = _widen(offers.articles, words)[o]
    offered_chapters = offers.chapters[o]
    wanted_n, offered_n = needs.article_tags_n[n], offers.articles_n[o]
    same_n = _count(wanted & offered)
    wanted_only, offered_only = wanted & ~offered, offered & ~wanted
    near_need = np.zeros(len(n), dtype=np.int64)
    near_offer = np.zeros(len(n), dtype=np.int64)
    for chapter_bit, mask in table.chapter_masks():
        mask = _widen(mask, words)
        near_need += np.where(_has_bit(offered_chapters, chapter_bit), _count(wanted_only & mask), 0)
        near_offer += np.where(_count(wanted & mask) > 0, _count(offered_only & mask), 0)
    coverage = (same_n + CHAPTER_CREDIT * near_need) / np.maximum(wanted_n, 1)
    focus = (same_n + CHAPTER_CREDIT * near_offer) / np.maximum(offered_n, 1)
    evidence = np.where(table.has_article_tags[o], EVIDENCE[0], EVIDENCE[1])
    articles = np.where(offered_n == 0, 0.0, evidence * np.sqrt(coverage * focus))
    components["articles"] = np.where(wanted_n == 0, np.nan, articles)

    components["ta_type"] = _overlap(
        needs.ta_types[n], offers.ta_types[o], needs.ta_type_tags[n], offers.ta_type_tags[o], needs.ta_types_n[n]
    )
    components["thematic"] = _overlap(
        needs.themes[n], offers.themes[o], needs.theme_tags[n], offers.theme_tags[o], needs.themes_n[n]
    )

    components["language"] = (_count(needs.languages[n] & offers.languages[o]) > 0).astype(np.float64)
    components["south_south"] = south_south.astype(np.float64)
    same_subregion = (offers.subregion[o] >= 0) & (offers.subregion[o] == needs.subregion[n])
    same_region = (offers.region[o] >= 0) & (offers.region[o] == needs.region[n])
    components["proximity"] = np.where(same_subregion, 1.0, np.where(same_region, 0.5, 0.0))
    components["capacity"] = table.capacity[o]
    components["feedback"] = table.feedback[o]
    return components


def _weighted_mean(components: dict[str, np.ndarray], weights: dict[str, float], names: tuple[str, ...]) -> np.ndarray:
    """``scoring._weighted_mean``: the same additions in the same order, pair by pair."""
    size = len(components[names[0]])
    total, weighted = np.zeros(size), np.zeros(size)
    for name in names:
        value = components[name]
        applies = ~np.isnan(value)
        weight = weights[name]
        total = np.where(applies, total + weight, total)
        weighted = np.where(applies, weighted + weight * np.where(applies, value, 0.0), weighted)
    return np.where(total != 0, weighted / np.where(total != 0, total, 1.0), 0.0)


def pair_scores(
    components: dict[str, np.ndarray], weights: dict[str, float], context_share: float, bonus: np.ndarray
) -> list[float]:
    """``scoring.score_of`` for every pair, rounded to four places as ``round`` does."""
    topical = _weighted_mean(components, weights, TOPICAL)
    context = _weighted_mean(components, weights, CONTEXT)
    raw = np.minimum(1.0, topical * (1 - context_share + context_share * context) * (1 + bonus))
    return [round(value, 4) for value in raw.tolist()]
