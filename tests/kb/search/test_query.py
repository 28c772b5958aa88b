"""Highlighting: escaped, cut to the densest window, and bounded whatever the text's length."""

from __future__ import annotations

import random

from kb.search import analysis, query
from kb.search.query import HIGHLIGHT_SCAN_CHARS, _densest_window, highlight


def _terms(word: str) -> frozenset[str]:
    return frozenset({analysis.analyse_word(word, "en")})


def test_highlight_analyses_a_bounded_window_of_a_huge_text(monkeypatch):
    """A 2 MB draft full of matches once cost minutes of CPU per hit (every span compared with
    every other); now only the first HIGHLIGHT_SCAN_CHARS characters are ever analysed."""
    seen: list[int] = []
    original = analysis.tokens

    def counting_tokens(text, language):
        seen.append(len(text))
        return original(text, language)

    monkeypatch.setattr(query.analysis, "tokens", counting_tokens)
    text = "bribery " * 250_000  # 2 MB, one match per word
    html = highlight(text, "en", _terms("bribery"))
    assert seen
    assert max(seen) <= HIGHLIGHT_SCAN_CHARS
    assert html.count("<mark>") >= 10
    assert len(html) < 2_000


def test_densest_window_is_the_one_a_quadratic_scan_finds():
    """The linear two-pointer scan picks the same window as comparing every span with every other."""

    def reference(spans, size):
        best_start, best_count = 0, -1
        for s, _e in spans:
            start = max(0, s - size // 4)
            count = sum(1 for s2, e2 in spans if s2 >= start and e2 <= start + size)
            if count > best_count:
                best_start, best_count = start, count
        return best_start

    rng = random.Random(14)
    for _ in range(300):
        spans, cursor = [], 0
        for _ in range(rng.randint(0, 40)):
            cursor += rng.randint(1, 120)
            length = rng.randint(1, 15)
            spans.append((cursor, cursor + length))
            cursor += length
        size = rng.choice([50, 200, 500])
        assert _densest_window(spans, size) == reference(spans, size)


def test_highlight_cuts_to_the_densest_window_and_escapes():
    text = (
        "Intro words here. " * 30
        + "<b>asset</b> declarations and asset verification of asset registers. "
        + ("Unrelated closing words. " * 30)
    )
    html = highlight(text, "en", _terms("asset"))
    assert html.startswith("… ")
    assert html.endswith(" …")
    assert html.count("<mark>asset</mark>") == 3
    assert "&lt;b&gt;<mark>asset</mark>&lt;/b&gt;" in html
