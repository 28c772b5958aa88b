"""The input contract of an entry: one checked content object per kind, built one way.

Every edge turns its input into an ``EntryContent`` through ``entry_content``: the API serializers
(``kb.apis.serializers`` ``EntryInputSerializer.to_content``), the web forms (``web.forms``
``EntryForm.to_content``) and the interchange parser (``kb.interchange`` ``content_from_row``).
The write services (``kb.services.entries``) take nothing else. So one bad value gets the same error,
naming the field, on every path, and a rule about an entry's content has this one home.

Invariants:
- The fields of a kind are its ``EntrySpec``; their limits (lengths, choices, ranges, storable text,
  the timeframe's order) are the model's own (``_meta``: fields, validators, constraints), never
  declared again. Edges read them from here (``EntrySpec.max_length``, ``.choices``, ``.limits``)
  to draw their inputs.
- A content holds only the fields it was given (a partial edit changes only those), converted:
  ``datetime.date`` for dates, ``int`` for numbers, stripped text, sorted tuples of the related
  rows' keys (article numbers, codes, M49 codes) whose primary keys are resolved with them.
- The required fields (``EntrySpec.required``: the model's fields that may not be blank and have no
  default, so title, description and language) are refused left out or blank (``None``, empty or
  only spaces) with one message naming the field, ``required_errors``: on every path, when given
  blank; when left out, where the content is the whole entry's (a new entry, an API ``PUT``, an
  import line: ``entry_content(..., whole=True)``), not in a partial edit.
- What depends on the entry itself (the contact person's membership, the whole row's constraints,
  what a submission needs) stays with the services.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

from django.core import validators as django_validators
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kb.models import (
    AssistanceNeed,
    EntryKind,
    ExpertiseOffer,
    KnowledgeEntry,
    Language,
    Modality,
    Region,
    TAType,
    ThematicArea,
    UncacArticle,
)
from kb.validators import keywords_clean, unstorable_character, validate_storable_text

#: A date that is not year-month-day; the web form's date field says the same (``web.widgets``).
DATE_INVALID = gettext_lazy("Enter the date as year-month-day, for example 2027-03-15.")


@dataclass(frozen=True)
class RelatedSpec:
    model: type[models.Model]
    key: str  # the field clients use to name a related row (number, code, m49_code)


_COMMON_RELATED = {
    "articles": RelatedSpec(UncacArticle, "number"),
    "ta_types": RelatedSpec(TAType, "code"),
    "thematic_areas": RelatedSpec(ThematicArea, "code"),
    "working_languages": RelatedSpec(Language, "code"),
}
_COMMON_SCALARS = ("title", "description", "language", "keywords", "contact_person")


@dataclass(frozen=True)
class EntrySpec:
    """The editable fields of one kind of entry, and where their limits are read from."""

    kind: str
    model: type[KnowledgeEntry]
    scalars: tuple[str, ...]
    related: dict[str, RelatedSpec]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.scalars + tuple(self.related)

    @cached_property
    def required(self) -> frozenset[str]:
        """The fields every entry of the kind has a value in: those the model does not let be
        blank and gives no default (title, description, language)."""
        return frozenset(
            name
            for name in self.scalars
            if not (model_field := self.model_field(name)).blank and not model_field.has_default()
        )

    def model_field(self, name: str) -> models.Field:
        model_field = self.model._meta.get_field(name)
        if not isinstance(model_field, models.Field):  # the spec lists the entry's own fields only
            raise TypeError(f"{self.model.__name__}.{name} is not a field of its own")
        return model_field

    def max_length(self, name: str) -> int | None:
        """The longest text the model stores in ``name``."""
        return self.model_field(name).max_length

    def choices(self, name: str) -> list[tuple[str, str]]:
        return list(self.model_field(name).choices or [])

    def limits(self, name: str) -> tuple[int | None, int | None]:
        """The smallest and largest number the model's validators accept for ``name``."""
        low: int | None = None
        high: int | None = None
        for validator in self.model_field(name).validators:
            if isinstance(validator, django_validators.MinValueValidator):
                low = max(low, validator.limit_value) if low is not None else validator.limit_value
            elif isinstance(validator, django_validators.MaxValueValidator):
                high = min(high, validator.limit_value) if high is not None else validator.limit_value
        return low, high


OFFER_SPEC = EntrySpec(
    kind=EntryKind.OFFER,
    model=ExpertiseOffer,
    scalars=(*_COMMON_SCALARS, "capacity", "cost_arrangement", "contact_name", "contact_email"),
    related={
        **_COMMON_RELATED,
        "modalities": RelatedSpec(Modality, "code"),
        "regions_served": RelatedSpec(Region, "m49_code"),
    },
)
NEED_SPEC = EntrySpec(
    kind=EntryKind.NEED,
    model=AssistanceNeed,
    scalars=(
        *_COMMON_SCALARS,
        "priority",
        "south_south",
        "providers_wanted",
        "timeframe_start",
        "timeframe_end",
        "source_reference",
    ),
    related=dict(_COMMON_RELATED),
)
SPECS = {EntryKind.OFFER: OFFER_SPEC, EntryKind.NEED: NEED_SPEC}


def spec_for(entry: KnowledgeEntry | type[KnowledgeEntry] | str) -> EntrySpec:
    """The spec of an entry, an entry model or a kind ("offer", "need")."""
    if isinstance(entry, str):
        return SPECS[EntryKind(entry)]
    model = entry if isinstance(entry, type) else type(entry)
    return OFFER_SPEC if issubclass(model, ExpertiseOffer) else NEED_SPEC


class Vocabulary:
    """Primary keys of related rows by their key, looked up once per table and kept.

    One per request (only the keys asked for are read), or one per import file
    (``whole_tables``: each table is read once, whatever the number of lines)."""

    def __init__(self, *, whole_tables: bool = False) -> None:
        self._whole = whole_tables
        self._known: dict[tuple[type[models.Model], str], dict[Any, Any]] = {}
        self._loaded: set[tuple[type[models.Model], str]] = set()

    def ids(self, related: RelatedSpec, keys: Iterable[Any]) -> dict[Any, Any]:
        """``{key: pk}`` of the ``keys`` that name a row (unknown ones are left out)."""
        table_key = (related.model, related.key)
        table = self._known.setdefault(table_key, {})
        wanted = list(keys)
        missing = [k for k in wanted if k not in table]
        if missing and table_key not in self._loaded:
            manager = related.model._default_manager
            rows = manager.all() if self._whole else manager.filter(**{f"{related.key}__in": missing})
            table.update(rows.values_list(related.key, "pk"))
            if self._whole:
                self._loaded.add(table_key)
        return {k: table[k] for k in wanted if k in table}


_LANGUAGE = RelatedSpec(Language, "code")


@dataclass(frozen=True, eq=False)
class EntryContent(Mapping[str, Any]):
    """The checked content of an offer or a need: only the fields given, converted. Built by
    ``entry_content``; read like a mapping (``content["title"]``, ``"articles" in content``)."""

    spec: EntrySpec
    given: Mapping[str, Any]  # field -> checked value, only the fields given
    ids: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # related field -> primary keys

    def __getitem__(self, name: str) -> Any:
        return self.given[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.given)

    def __len__(self) -> int:
        return len(self.given)

    def __repr__(self) -> str:
        return f"EntryContent({self.spec.kind}, {dict(self.given)!r})"

    @property
    def kind(self) -> str:
        return self.spec.kind

    def as_json(self) -> dict[str, Any]:
        """Plain JSON values (ISO dates, lists): the shape of ``pending_revision`` and of
        ``kb.services.entries.entry_snapshot``."""
        return {
            name: value.isoformat()
            if isinstance(value, dt.date)
            else list(value)
            if isinstance(value, tuple)
            else value
            for name, value in self.given.items()
        }

    def only(self, names: Iterable[str]) -> EntryContent:
        """The same content restricted to ``names`` (what an import line changes)."""
        wanted = set(names)
        keep = [name for name in self.given if name in wanted]
        return EntryContent(
            spec=self.spec,
            given=MappingProxyType({name: self.given[name] for name in keep}),
            ids=MappingProxyType({name: self.ids[name] for name in keep if name in self.ids}),
        )

    def with_working_languages_default(self) -> EntryContent:
        """A new entry's working languages, when none are given: the text's language (a
        language's key is its primary key)."""
        if "working_languages" in self.given or not self.given.get("language"):
            return self
        language = self.given["language"]
        return EntryContent(
            spec=self.spec,
            given=MappingProxyType({**self.given, "working_languages": (language,)}),
            ids=MappingProxyType({**self.ids, "working_languages": (language,)}),
        )


# --- the one parser ------------------------------------------------------------------------------


def _text(model_field: models.Field, value: Any) -> str:
    if value is None and model_field.blank:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(_("Give a text."))
    validate_storable_text(value)  # before the model's own checks, which could not show it
    return model_field.clean(value.strip(), None)


def _number(model_field: models.Field, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(_("Give a whole number."))
    return model_field.clean(value, None)


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        raise ValidationError(DATE_INVALID)
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ValidationError(DATE_INVALID)


def _scalar(spec: EntrySpec, name: str, value: Any, vocabulary: Vocabulary) -> Any:
    if name == "keywords":
        try:
            return tuple(keywords_clean(value))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["keywords"]) from exc
    if name == "language":
        code = value.strip() if isinstance(value, str) else None
        if not code or unstorable_character(code) is not None or not vocabulary.ids(_LANGUAGE, [code]):
            raise ValidationError(_("Unknown language code: %(code)s.") % {"code": printable(value)})
        return code
    if name == "contact_person":  # an e-mail; whether it may be the contact is the service's (the entry's)
        if value is None or value == "":
            return None
        if not isinstance(value, str) or unstorable_character(value) is not None:
            raise ValidationError(_("Choose a member of the entry's organisation as its contact person."))
        return value.strip()
    model_field = spec.model_field(name)
    if isinstance(model_field, models.DateField):
        return _date(value)
    if isinstance(model_field, models.IntegerField):
        return _number(model_field, value)
    return _text(model_field, value)


def _key(related: RelatedSpec, value: Any) -> Any:
    """``value`` as the related model's key (``"8"`` names article 8), or ``None``."""
    key_field = related.model._meta.get_field(related.key)
    if isinstance(key_field, models.IntegerField):
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        return int(value) if isinstance(value, str) and value.strip().isdigit() else None
    return value.strip() if isinstance(value, str) and unstorable_character(value) is None else None


def _codes(related: RelatedSpec, value: Any, vocabulary: Vocabulary) -> tuple[tuple[Any, ...], tuple[Any, ...]]:
    if value is None:
        value = []
    if not isinstance(value, list | tuple):
        raise ValidationError(_("Give a list."))
    keys = [_key(related, item) for item in value]
    found = vocabulary.ids(related, {k for k in keys if k is not None})
    unknown = [printable(item) for item, key in zip(value, keys, strict=True) if key is None or key not in found]
    if unknown:
        raise ValidationError(_("Unknown value(s): %(values)s.") % {"values": ", ".join(dict.fromkeys(unknown))})
    ordered = tuple(sorted(set(keys)))
    return ordered, tuple(found[k] for k in ordered)


def printable(value: Any) -> str:
    """A refused value as it can be shown and stored in a report (unstorable characters escaped)."""
    text = str(value)
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def required_message(spec: EntrySpec, name: str) -> str:
    """The error of a required field left out or blank, naming it (the model's name of the field)."""
    return _("%(field)s: this field is required.") % {"field": capfirst(spec.model_field(name).verbose_name)}


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def required_errors(spec: EntrySpec, data: Mapping[str, Any], *, whole: bool = False) -> dict[str, list[str]]:
    """The required fields ``data`` gives blank (``None``, empty or only spaces) and, when it is
    the ``whole`` content of an entry, those it leaves out: field -> [``required_message``].

    ``entry_content`` applies it; the API serializer and the web form also ask it while checking
    their own fields, so a blank title is reported with every other mistake of the input at once."""
    return {
        name: [required_message(spec, name)]
        for name in spec.scalars
        if name in spec.required and (_blank(data[name]) if name in data else whole)
    }


def _timeframe_message(spec: EntrySpec) -> str | None:
    for constraint in spec.model._meta.constraints:
        if constraint.name == "kb_need_timeframe_ordered":
            return str(constraint.get_violation_error_message())
    return None


def entry_content(
    kind: str | EntrySpec | KnowledgeEntry | type[KnowledgeEntry],
    data: Mapping[str, Any],
    *,
    vocabulary: Vocabulary | None = None,
    whole: bool = False,
) -> EntryContent:
    """Check and convert ``data`` (field -> value, any subset of the kind's fields) into the
    content of an offer or a need; every bad field is named in one ``ValidationError``.

    ``kind``: "offer" / "need", a spec, an entry or an entry model. Values may be JSON-like (ISO
    dates, codes as strings) or already typed (``datetime.date``). ``whole``: ``data`` is all of
    an entry's content (a new one's, or one replacing it), so a required field it leaves out is
    refused too; a required field given blank is refused either way (``required_errors``)."""
    spec = kind if isinstance(kind, EntrySpec) else spec_for(kind)
    vocabulary = vocabulary or Vocabulary()
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    ids: dict[str, tuple[Any, ...]] = {}
    for name in sorted(set(data) - set(spec.fields)):
        errors[printable(name)] = [_("Unknown field.")]
    required = required_errors(spec, data, whole=whole)
    for name in spec.scalars:
        if name in required:
            errors[name] = required[name]
        elif name in data:
            try:
                values[name] = _scalar(spec, name, data[name], vocabulary)
            except ValidationError as exc:
                errors[name] = exc.messages
    for name, related in spec.related.items():
        if name in data:
            try:
                values[name], ids[name] = _codes(related, data[name], vocabulary)
            except ValidationError as exc:
                errors[name] = exc.messages
    start, end = values.get("timeframe_start"), values.get("timeframe_end")
    if start and end and end < start and (message := _timeframe_message(spec)):
        errors.setdefault("timeframe_end", []).append(message)
    if errors:
        raise ValidationError(errors)
    ordered = {name: values[name] for name in spec.fields if name in values}
    return EntryContent(spec=spec, given=MappingProxyType(ordered), ids=MappingProxyType(ids))
