"""Template helpers of the web pages."""

from __future__ import annotations

import copy
from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from kb.search.labels import facet_label
from matching.models import EngagementEvent, MatchCandidate, Notification
from matching.reasons import render_reasons
from matching.scoring import COMPONENTS
from matching.services.notifications import notification_path, render_notification

register = template.Library()


@register.simple_tag
def notification_title(notification: Notification) -> str:
    """The notification's title with the entry titles it quotes bidi-isolated (``<bdi>``), so an
    English title inside an Arabic sentence keeps its punctuation in place."""
    params = notification.params or {}
    marks = {key: f"\x00{key}\x00" for key in ("need", "offer", "title") if params.get(key)}
    shown = copy.copy(notification)
    shown.params = {**params, **marks}
    html: str = escape(render_notification(shown)[0])
    for key, mark in marks.items():
        html = html.replace(escape(mark), format_html("<bdi>{}</bdi>", params[key]))
    return mark_safe(html)


@register.simple_tag
def notification_link(notification: Notification) -> str:
    """The page a notification is about, or ``""``."""
    return notification_path(notification)


@register.filter
def country_name(iso3: str) -> str:
    """A State's name in the reader's language, from its ISO 3166-1 alpha-3 code."""
    return facet_label("country", iso3) if iso3 else ""


@register.filter
def reasons(candidate: MatchCandidate) -> list[str]:
    return render_reasons(candidate.reasons or [])


@register.filter
def components(candidate: MatchCandidate) -> list[tuple[str, float]]:
    """(component, value) for the components that applied, in their fixed order."""
    return [(name, candidate.components[name]) for name in COMPONENTS if candidate.components.get(name) is not None]


@register.filter
def percent(value: float | str | None) -> str:
    return f"{round(float(value or 0) * 100)}"


@register.filter
def highlight(value: str) -> str:
    """Search highlights are HTML-escaped by the search layer, with matches in <mark>."""
    return mark_safe(value)


@register.simple_tag
def component_label(name: str) -> str:
    from django.utils.translation import gettext as _

    return {
        "text": _("Text relevance"),
        "articles": _("UNCAC articles"),
        "ta_type": _("Type of assistance"),
        "thematic": _("Thematic area"),
        "language": _("Shared working language"),
        "south_south": _("South-South"),
        "proximity": _("Same sub-region or region"),
        "capacity": _("Capacity left"),
        "feedback": _("Past feedback"),
    }.get(name, name)


@register.filter
def get_item(mapping: dict | None, key: Any) -> Any:
    return (mapping or {}).get(key)


@register.filter
def engagement_state(value: str) -> str:
    """An engagement state code (as stored in its history) in the reader's language."""
    from matching.models import EngagementState

    try:
        return str(EngagementState(value).label)
    except ValueError:
        return value or ""


@register.filter
def superseded_reason(value: str) -> str:
    """Why matching superseded a proposal (a code in its history) in the reader's language."""
    from matching.models import SupersededReason

    try:
        return str(SupersededReason(value).label)
    except ValueError:
        return value or ""


@register.filter
def engagement_event_label(event: EngagementEvent) -> str:
    """What an engagement event was, in words of the reader's language (not its action code)."""
    from matching.selectors import engagement_event_label as label

    return label(event.action)


@register.filter
def engagement_event_changes(event: EngagementEvent) -> list[tuple[str, str, str]]:
    """(field label, before, after) of an edit recorded in an engagement's history, in words."""
    from matching.selectors import engagement_event_changes as changes

    return changes(event)
