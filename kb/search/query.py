"""The backend-independent description of a search and of its results, the query tree, and highlighting.

A ``SearchRequest`` is built by the selector from whitelisted API parameters (matching builds
``TermQuery`` / ``VectorQuery``). The clause rules turning them into a tree of query nodes
(``Term``, ``Terms``, ``DisMax``, ``Bool``) live once in ``SearchBackend`` (``backends/base.py``);
each backend only compiles nodes into its own query language. Highlights are computed here from
the stored text with the same analysis, so they are identical on both backends, and HTML-escaped
before ``<mark>`` is added.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import datetime

from kb.search import analysis
from kb.search.concepts import concept_matcher
from kb.search.documents import FACET_FIELDS

#: Field weights in scoring (title words count more than body words; a shared concept bridges
#: languages but weighs less than the actual words).
TITLE_BOOST = 2.0
TEXT_BOOST = 1.0
CONCEPT_BOOST = 1.5
#: In matching queries, a shared UNCAC article counts like this (a constant, not BM25).
ARTICLE_BOOST = 0.5


#: Terms buckets counted per facet (both backends count the same top buckets).
FACET_BUCKETS = 250


#: Ties, and searches without words or sorted by date, go newest first: by publication (entries
#: never published last), then by last update, then by entry id.
NEWEST_FIRST = ("published_at", "updated_at", "entry_id")


class SortOrder:
    RELEVANCE = "relevance"
    DATE = "date"
    CHOICES = (RELEVANCE, DATE)


#: No search pages beyond this many results (``offset + limit``): Elasticsearch's default
#: ``index.max_result_window``, past which it refuses the query. The parser of the search
#: parameters (``kb.search.params.search_params_parse``: API, web and saved searches alike) keeps requests inside it.
MAX_RESULT_WINDOW = 10_000


@dataclass
class SearchRequest:
    kinds: tuple[str, ...]
    text: str = ""
    filters: dict[str, list[str]] = field(default_factory=dict)  # facet name -> accepted values
    # None: the caller sees everything (moderator). Otherwise: published entries plus entries
    # whose owners include one of these tokens.
    visible_to_owners: tuple[str, ...] | None = ()
    sort: str = SortOrder.RELEVANCE
    offset: int = 0
    limit: int = 25
    facets: tuple[str, ...] = tuple(FACET_FIELDS)
    extra_languages: tuple[str, ...] = ()
    # None: any entry. Otherwise only these entry ids (saved-search alerts check new entries).
    entry_ids: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        self.groups = analysis.query_groups(self.text, self.extra_languages)
        self.concepts = sorted(concept_matcher().find_in_query(self.text)) if self.text else []

    @property
    def is_text_query(self) -> bool:
        return bool(self.groups or self.concepts)

    @property
    def by_relevance(self) -> bool:
        """Best score first (then newest); otherwise newest first. Without words there is no score."""
        return self.sort == SortOrder.RELEVANCE and self.is_text_query

    @property
    def highlight_terms(self) -> frozenset[str]:
        terms: set[str] = set()
        for group in self.groups:
            terms |= group.alternatives
        return frozenset(terms)


@dataclass
class SearchHit:
    kind: str
    entry_id: int
    score: float | None
    source: dict  # the stored document fields (title, description, country, ...)
    highlights: dict[str, str] = field(default_factory=dict)


@dataclass
class SearchResults:
    total: int
    hits: list[SearchHit]
    facets: dict[str, list[tuple[str, int]]]
    took_ms: float


@dataclass
class TermQuery:
    """A weighted bag of analysed terms, used by matching to fetch candidates in bulk."""

    key: int
    groups: list[frozenset[str]]
    weights: list[float]
    concepts: list[str]
    articles: list[str] = field(default_factory=list)
    exclude_country: str = ""


@dataclass
class VectorQuery:
    """A text vector, used by matching to fetch candidates by meaning (kNN) in bulk."""

    key: int
    vector: list[float]
    exclude_country: str = ""


# --- the query tree ------------------------------------------------------------------------------
# What both backends can express with the same meaning. A node scores as described; inside a
# ``Bool``'s ``filter`` and ``must_not`` nothing scores.


@dataclass(frozen=True)
class Term:
    """Documents whose ``field`` holds ``value``; scored by BM25 on that field, times ``boost``."""

    field: str
    value: str | int
    boost: float = 1.0


@dataclass(frozen=True)
class Terms:
    """Documents whose ``field`` holds any of ``values``; a constant score of ``boost``."""

    field: str
    values: tuple[str | int, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class DisMax:
    """The best-scoring of ``queries`` (no tie-breaker), times ``boost``."""

    queries: tuple[Node, ...]
    boost: float = 1.0


@dataclass(frozen=True)
class Bool:
    """Documents matching every ``filter`` node, none of ``must_not`` and, when there are any, at
    least one ``should`` node; scored by the sum of the matching ``should`` nodes. No nodes at all:
    every document."""

    should: tuple[Node, ...] = ()
    filter: tuple[Node, ...] = ()
    must_not: tuple[Node, ...] = ()


Node = Term | Terms | DisMax | Bool


def _marked_spans(text: str, language: str, terms: frozenset[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for token in analysis.tokens(text, language):
        if token.term in terms:
            if spans and token.start <= spans[-1][1]:
                spans[-1] = (spans[-1][0], max(spans[-1][1], token.end))
            else:
                spans.append((token.start, token.end))
    return spans


def _render(text: str, spans: list[tuple[int, int]], start: int, end: int) -> str:
    out = []
    cursor = start
    for s, e in spans:
        if e <= start or s >= end:
            continue
        s, e = max(s, start), min(e, end)
        out.append(html.escape(text[cursor:s]))
        out.append(f"<mark>{html.escape(text[s:e])}</mark>")
        cursor = e
    out.append(html.escape(text[cursor:end]))
    prefix = "… " if start > 0 else ""
    suffix = " …" if end < len(text) else ""
    return prefix + "".join(out) + suffix


#: Highlighting reads at most this many characters of a text. Fragments come from this bounded
#: window, so a hit costs the same whether its description is a paragraph or the longest allowed
#: (``kb.models.MAX_DESCRIPTION_LENGTH``); a match further in is found by search, not marked.
HIGHLIGHT_SCAN_CHARS = 5_000


def _densest_window(spans: list[tuple[int, int]], fragment_size: int) -> int:
    """Start of the window of ``fragment_size`` characters holding the most whole spans.

    Windows start a quarter fragment before a span. Spans are sorted and disjoint, so the spans
    inside a window are a contiguous run whose ends only move forward: two pointers, linear.
    """
    best_start, best_count = 0, -1
    first = last = 0  # spans[first:last] are the spans inside the current window
    for s, _e in spans:
        window_start = max(0, s - fragment_size // 4)
        window_end = window_start + fragment_size
        while first < len(spans) and spans[first][0] < window_start:
            first += 1
        last = max(last, first)
        while last < len(spans) and spans[last][1] <= window_end:
            last += 1
        if last - first > best_count:
            best_start, best_count = window_start, last - first
    return best_start


def highlight(text: str, language: str, terms: frozenset[str], fragment_size: int = 200) -> str:
    """HTML for ``text`` (escaped) with matched terms in ``<mark>``, cut to the densest window.

    Linear in the length of the text and bounded: only the first ``HIGHLIGHT_SCAN_CHARS``
    characters are analysed, whatever the text's length.
    """
    if not text:
        return ""
    spans = _marked_spans(text[:HIGHLIGHT_SCAN_CHARS], language, terms) if terms else []
    if len(text) <= fragment_size:
        return _render(text, spans, 0, len(text))
    best_start = _densest_window(spans, fragment_size)
    # Cut on word boundaries (looking back at most one fragment, so the cost stays bounded).
    if best_start > 0:
        space = text.rfind(" ", max(0, best_start - fragment_size), best_start)
        best_start = space + 1 if space != -1 else best_start
    end = min(len(text), best_start + fragment_size)
    if end < len(text):
        space = text.rfind(" ", best_start, end)
        end = space if space > best_start else end
    return _render(text, spans, best_start, end)


def add_highlights(request: SearchRequest, hits: list[SearchHit]) -> None:
    terms = request.highlight_terms
    for hit in hits:
        language = hit.source.get("language", "en")
        hit.highlights = {
            "title": highlight(hit.source.get("title", ""), language, terms, fragment_size=10_000),
            "description": highlight(hit.source.get("description", ""), language, terms),
        }


def parse_datetime(value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
