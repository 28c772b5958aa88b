"""Written reasons of a match, rendered in the reader's language.

Candidates store reasons as codes with parameters; this module turns them into sentences with
gettext at display time, so the same candidate reads in Arabic for one focal point and in Spanish
for another. Taxonomy labels and country/region names come from the translated reference data.
"""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kb.search.labels import facet_label


def _list(items: list[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return _("%(items)s and %(last)s") % {"items": ", ".join(items[:-1]), "last": items[-1]}


def _articles(numbers: list[int]) -> str:
    return _list(
        [
            _("art. %(number)s (%(title)s)") % {"number": n, "title": facet_label("article_title", str(n))}
            for n in numbers
        ]
    )


def _chapters(numbers: list[int]) -> str:
    return _list(
        [
            _("chapter %(roman)s (%(title)s)")
            % {"roman": facet_label("chapter_roman", str(n)), "title": facet_label("chapter_title", str(n))}
            for n in numbers
        ]
    )


def _labels(facet: str, codes: list[str]) -> str:
    return _list([facet_label(facet, code) for code in codes])


def _language(code: str) -> str:
    return facet_label("language", code)


def _region(name: str) -> str:
    return facet_label("region", name)


#: Unicode's first-strong isolate and its closing pop: text quoted as written (an Arabic sentence
#: in a French page, an English one in an Arabic page) keeps its own direction and cannot reorder
#: the sentence around it, in a page as in a plain-text e-mail.
FSI, PDI = "\u2068", "\u2069"


def isolate(text: str) -> str:
    return f"{FSI}{text}{PDI}"


def render_reason(reason: dict) -> str:
    code, p = reason["code"], reason.get("params", {})
    if code == "semantic":
        if p.get("sentence"):
            return _("Closest to your need: «%(sentence)s»") % {"sentence": isolate(p["sentence"])}
        return _("Close in meaning to your need")
    if code == "text":
        # Each quoted word isolated with its quotes: in an Arabic sentence, bare “…” around a
        # French word took the sentence's direction and showed as ”patrimoine“.
        return _("Similar wording: %(words)s") % {"words": ", ".join(isolate(f"“{w}”") for w in p["words"])}
    if code == "articles":
        return _("Both concern %(articles)s") % {"articles": _articles(p["articles"])}
    if code == "chapters":
        return _("Both concern %(chapters)s of UNCAC") % {"chapters": _chapters(p["chapters"])}
    if code == "ta_types":
        return _("The provider offers what is asked for: %(types)s") % {"types": _labels("ta_type", p["ta_types"])}
    if code == "themes":
        return _("Shared theme: %(themes)s") % {"themes": _labels("thematic_area", p["themes"])}
    if code == "language":
        if p.get("is_need_language"):
            return _("The provider works in %(language)s, the need's language") % {"language": _language(p["language"])}
        return _("Both work in %(language)s") % {"language": _language(p["language"])}
    if code == "south_south":
        if p.get("definition") == "m49":
            return _("South-South: both in the M49 developing regions")
        return _("South-South: both Group of 77 members")
    if code == "south_south_preferred":
        return _("The recipient prefers South-South cooperation")
    if code == "same_subregion":
        return _("Same sub-region: %(region)s") % {"region": _region(p["region"])}
    if code == "same_region":
        return _("Same region: %(region)s") % {"region": _region(p["region"])}
    if code == "capacity":
        return ngettext(
            "The provider can take %(left)d more engagement this year (of %(total)d)",
            "The provider can take %(left)d more engagements this year (of %(total)d)",
            p["left"],
        ) % {"left": p["left"], "total": p["total"]}
    if code == "feedback":
        return ngettext(
            "Recipients rated this provider %(average)s/5 (%(count)d engagement)",
            "Recipients rated this provider %(average)s/5 (%(count)d engagements)",
            p["count"],
        ) % {"average": number_format(p["average"], 1), "count": p["count"]}
    return code


def render_reasons(reasons: list[dict]) -> list[str]:
    return [render_reason(r) for r in reasons]


def render_sentence(reasons: list[dict]) -> str:
    """All reasons as one sentence, e.g. for an e-mail."""
    return "; ".join(render_reasons(reasons))
