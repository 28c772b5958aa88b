"""What a moderator reads before approving a change: pending changes against the published text.

A published entry keeps its published content while an edit waits for review; the edit lives in
``pending_revision`` (the shape of ``entry_snapshot``). ``entry_pending_diff`` compares the two field
by field and gives, for each changed field, what a person reads: long texts as a word-level diff
(deleted and inserted runs), tags as the labels added and removed, other values before → after.
Nothing here writes.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils.translation import gettext as _

from kb.content import spec_for
from kb.models import KnowledgeEntry, Language
from kb.services.entries import entry_snapshot

#: Fields compared as running text (word-level diff) rather than as a single value.
_TEXT_FIELDS = frozenset({"title", "description", "source_reference"})
_TOKENS = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Segment:
    op: str  # "same", "del" or "ins"
    text: str


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    kind: str  # "text", "tags" or "value"
    segments: list[Segment] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    before: str = ""
    after: str = ""


def text_diff(before: str | None, after: str | None) -> list[Segment]:
    """Word-level diff of two texts as runs kept, deleted and inserted (whitespace kept as is)."""
    a, b = _TOKENS.findall(before or ""), _TOKENS.findall(after or "")
    segments: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            segments.append(Segment("same", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            segments.append(Segment("del", "".join(a[i1:i2])))
        if j2 > j1:
            segments.append(Segment("ins", "".join(b[j1:j2])))
    return segments


def _value_text(model_field: models.Field, value: Any) -> str:
    if value in (None, "", []):
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if model_field.name == "language":
        language = Language.objects.filter(code=value).first()
        return str(language) if language else str(value)
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return str(_("Yes") if value else _("No"))
    return str(value)


def entry_pending_diff(entry: KnowledgeEntry) -> list[FieldChange]:
    """The fields ``entry``'s pending changes would change, in the form's order; [] when none."""
    pending = entry.pending_revision
    if not pending:
        return []
    spec = spec_for(entry)
    published = entry_snapshot(entry)
    meta = spec.model._meta
    changes: list[FieldChange] = []
    for name in spec.fields:
        if name not in pending or pending[name] == published.get(name):
            continue
        model_field = meta.get_field(name)
        if not isinstance(model_field, models.Field):  # the spec lists the entry's own fields only
            raise TypeError(f"{spec.model.__name__}.{name} is not a field of its own")
        label = str(model_field.verbose_name)
        if name in spec.related:
            related = spec.related[name]
            old, new = set(published.get(name) or []), set(pending[name] or [])
            keys = old ^ new
            labels = {
                getattr(obj, related.key): str(obj)
                for obj in related.model._default_manager.filter(**{f"{related.key}__in": keys})
            }
            changes.append(
                FieldChange(
                    name,
                    label,
                    "tags",
                    added=[labels.get(k, str(k)) for k in sorted(new - old)],
                    removed=[labels.get(k, str(k)) for k in sorted(old - new)],
                )
            )
        elif name in _TEXT_FIELDS:
            changes.append(FieldChange(name, label, "text", segments=text_diff(published.get(name), pending[name])))
        else:
            changes.append(
                FieldChange(
                    name,
                    label,
                    "value",
                    before=_value_text(model_field, published.get(name)),
                    after=_value_text(model_field, pending[name]),
                )
            )
    return changes
