"""Language-aware text analysis, done in Python so both search backends index the same terms.

Why here and not in Elasticsearch: the test node (and any node without the ``analysis-common``
module) has no language analyzers. Analysing in Python and indexing the resulting terms through
Elasticsearch's core ``whitespace`` analyzer behaves identically on a minimal node, on a full
cluster and in the embedded backend, so relevance does not depend on how a node was built.

Pipeline for a document in language L:
  tokenise (words; runs of Han/Kana/Hangul become overlapping character bigrams, as Lucene's
  CJK analyzer does) -> NFKC + case folding -> drop L's stop words -> Snowball stem for L
  (Arabic, English, French, Russian, Spanish, Portuguese and 30 more) -> fold accents and Arabic
  letter variants (so "é" = "e", "أ/إ/آ" = "ا", "ة" = "ه", "ى" = "ي", tashkeel and tatweel removed).

A query's language is unknown, so each query word becomes a *group* of alternative terms: its stem
in every language written in that script (Latin: English, French, Spanish, Portuguese; Cyrillic:
Russian; Arabic script: Arabic) plus the bare folded word. Backends score a group by its best
alternative (dis_max), so a word counts once however many languages it could be.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import snowballstemmer

from kb.search.stopwords import STOP_WORDS

#: Change this whenever a change here changes the terms of a text: stored terms of another
#: version are stale (``kb.search.terms``) and the reconcile recomputes them.
VERSION = "1"

# ISO 639-1 -> Snowball algorithm name.
_SNOWBALL = {
    "ar": "arabic", "hy": "armenian", "eu": "basque", "ca": "catalan", "cs": "czech",
    "da": "danish", "nl": "dutch", "en": "english", "eo": "esperanto", "et": "estonian",
    "fi": "finnish", "fr": "french", "de": "german", "el": "greek", "hi": "hindi",
    "hu": "hungarian", "id": "indonesian", "ga": "irish", "it": "italian", "lt": "lithuanian",
    "ne": "nepali", "no": "norwegian", "nb": "norwegian", "fa": "persian", "pl": "polish",
    "pt": "portuguese", "ro": "romanian", "ru": "russian", "sr": "serbian", "st": "sesotho",
    "es": "spanish", "sv": "swedish", "ta": "tamil", "tr": "turkish", "yi": "yiddish",
}  # fmt: skip

#: Languages a query word in each script may be written in (the UN languages, plus Portuguese).
SCRIPT_QUERY_LANGUAGES = {
    "latin": ("en", "fr", "es", "pt"),
    "cyrillic": ("ru",),
    "arabic": ("ar",),
}

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af"
# Combining marks that belong inside words (Latin accents written decomposed, Cyrillic, Arabic
# tashkeel, tatweel); Python's \w does not include them.
_MARKS = "\u0300-\u036f\u0483-\u0489\u0610-\u061a\u0640\u064b-\u065f\u0670\u06d6-\u06ed"
_TOKEN_RE = re.compile(rf"(?P<cjk>[{_CJK}]+)|(?P<word>(?:(?![{_CJK}])[^\W_]|[{_MARKS}])+)")
_ARABIC_FOLD = str.maketrans({"أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ة": "ه", "ى": "ي", "ـ": None})


@dataclass(frozen=True, slots=True)
class Token:
    term: str  # the analysed form that is indexed and matched
    start: int  # offsets in the original text, for highlighting
    end: int


def fold(word: str) -> str:
    """Remove accents and diacritics, unify Arabic letter variants; keeps letters otherwise."""
    decomposed = unicodedata.normalize("NFD", word)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped).translate(_ARABIC_FOLD)


def script_of(word: str) -> str:
    for ch in word:
        if ch.isdigit():
            continue
        name = unicodedata.name(ch, "")
        if name.startswith("CYRILLIC"):
            return "cyrillic"
        if name.startswith("ARABIC"):
            return "arabic"
        if name.startswith("LATIN"):
            return "latin"
        return "other"
    return "digits"


class Stemmer(Protocol):
    """What ``snowballstemmer`` (untyped) gives: one word in, its stem out."""

    def stemWord(self, word: str) -> str: ...  # snowballstemmer's name


@functools.cache
def _stemmer(language: str) -> Stemmer | None:
    algorithm = _SNOWBALL.get(language)
    return snowballstemmer.stemmer(algorithm) if algorithm else None


@functools.cache
def stop_words(language: str) -> frozenset[str]:
    """Folded stop words of a language (empty for languages without a list)."""
    words = STOP_WORDS.get(language, "").split()
    return frozenset(fold(unicodedata.normalize("NFKC", w).casefold()) for w in words)


@functools.lru_cache(maxsize=200_000)
def analyse_word(word: str, language: str) -> str | None:
    """The indexed term for one (non-CJK) word in ``language``, or None if it is not indexed."""
    lowered = unicodedata.normalize("NFKC", word).casefold()
    folded = fold(lowered)
    if len(folded) < 2 and not folded.isdigit():
        return None
    if folded in stop_words(language):
        return None
    stemmer = _stemmer(language)
    stem = stemmer.stemWord(lowered) if stemmer else lowered
    return fold(stem) or None


def _bigrams(run: str, offset: int) -> Iterator[Token]:
    if len(run) == 1:
        yield Token(run, offset, offset + 1)
        return
    for i in range(len(run) - 1):
        yield Token(run[i : i + 2], offset + i, offset + i + 2)


def tokens(text: str, language: str) -> Iterator[Token]:
    """Analysed tokens of ``text`` written in ``language``, with their original offsets."""
    for match in _TOKEN_RE.finditer(text or ""):
        if match.group("cjk"):
            yield from _bigrams(match.group("cjk"), match.start())
            continue
        term = analyse_word(match.group("word"), language)
        if term:
            yield Token(term, match.start(), match.end())


def analyse(text: str, language: str) -> list[str]:
    """The analysed terms of ``text`` in ``language``, in order (duplicates kept, for BM25).

    Same result as ``[t.term for t in tokens(text, language)]``, without building offsets: this
    runs for every document indexed.
    """
    terms: list[str] = []
    for cjk, word in _TOKEN_RE.findall(text or ""):
        if cjk:
            if len(cjk) == 1:
                terms.append(cjk)
            else:
                terms.extend(cjk[i : i + 2] for i in range(len(cjk) - 1))
        else:
            term = analyse_word(word, language)
            if term:
                terms.append(term)
    return terms


@dataclass(frozen=True)
class QueryGroup:
    """One query word and the alternative terms that count as a match for it."""

    word: str
    alternatives: frozenset[str]


def query_groups(text: str, extra_languages: Iterable[str] = ()) -> list[QueryGroup]:
    """Analyse a query of unknown language into groups of alternatives (see module docstring).

    ``extra_languages`` adds languages to try for every script (e.g. the user's UI language).
    """
    groups: list[QueryGroup] = []
    seen: set[frozenset[str]] = set()
    for match in _TOKEN_RE.finditer(text or ""):
        if match.group("cjk"):
            for token in _bigrams(match.group("cjk"), match.start()):
                alternatives = frozenset({token.term})
                if alternatives not in seen:
                    seen.add(alternatives)
                    groups.append(QueryGroup(token.term, alternatives))
            continue
        word = match.group("word")
        candidates = SCRIPT_QUERY_LANGUAGES.get(script_of(word), ())
        languages = dict.fromkeys((*candidates, *extra_languages))
        lowered = unicodedata.normalize("NFKC", word).casefold()
        folded = fold(lowered)
        if len(folded) < 2 and not folded.isdigit():
            continue
        if any(folded in stop_words(lang) for lang in languages):
            continue
        found = {folded}
        for language in languages:
            term = analyse_word(word, language)
            if term:
                found.add(term)
        key = frozenset(found)
        if key not in seen:
            seen.add(key)
            groups.append(QueryGroup(word, key))
    return groups


def same_script_languages(language: str, among: Iterable[str]) -> list[str]:
    """Languages of ``among`` written in the same script family as ``language``."""
    for _script, languages in SCRIPT_QUERY_LANGUAGES.items():
        if language in languages:
            return [lang for lang in among if lang in languages]
    return [language] if language in among else []
