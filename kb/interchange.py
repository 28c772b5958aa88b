"""The interchange format (``INTERCHANGE.md``): JSON Lines of offers and needs.

This module only parses, validates and serialises; writing to the database is
``kb.services.importing``. Validation is complete and per line, in one pass: every problem of every
line is reported with its line number, key and reason (a line that is not UTF-8 or not JSON is
reported and the others are still checked), and unknown keys are errors (so typos are caught).
A line's content goes through the parser of the API and the web form (``content_from_row`` ->
``kb.content.entry_content``): the same limits (the model's lengths, choices and ranges, keywords,
characters that cannot be stored) and the same message for the same bad value, under the file's key.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.core.exceptions import ValidationError

from kb.content import OFFER_SPEC, EntryContent, Vocabulary, entry_content, printable, spec_for
from kb.models import (
    AssistanceNeed,
    Country,
    EntryKind,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
    Organisation,
)
from kb.validators import unstorable_character

COMMON_KEYS = {
    "kind", "external_id", "country", "organisation", "title", "description", "language",
    "uncac_articles", "ta_types", "thematic_areas", "keywords", "languages", "status",
}  # fmt: skip
OFFER_KEYS = COMMON_KEYS | {"modalities", "capacity"}
NEED_KEYS = COMMON_KEYS | {"priority", "south_south"}
#: Key order when writing, as in INTERCHANGE.md.
KEY_ORDER = (
    "kind", "external_id", "country", "organisation", "title", "description", "language",
    "uncac_articles", "ta_types", "thematic_areas", "keywords", "languages", "modalities",
    "capacity", "priority", "south_south", "status",
)  # fmt: skip
#: The file's keys that are not content (who owns the entry, which one it is, its status).
_NOT_CONTENT = {"kind", "external_id", "country", "organisation", "status"}
#: The file's keys named otherwise in the entry's content (``kb.content``); the others are the same.
CONTENT_FIELDS = {"uncac_articles": "articles", "languages": "working_languages"}
_FILE_KEYS = {name: key for key, name in CONTENT_FIELDS.items()}
FILE_STATUSES = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.PUBLISHED)
MAX_TITLE = OFFER_SPEC.max_length("title") or 0
MAX_EXTERNAL_ID = KnowledgeEntry._meta.get_field("external_id").max_length
MAX_ORGANISATION = Organisation._meta.get_field("name").max_length


@dataclass
class LineError:
    line: int
    key: str
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", key '{self.key}'" if self.key else "")
        return f"{where}: {self.reason}"


@dataclass
class EntryRecord:
    """One valid line, in the model's vocabulary."""

    line: int
    kind: str
    external_id: str
    country: str | None
    organisation: str | None
    status: str | None  # None: the line did not say
    content: EntryContent  # for kb.services.entries


@dataclass
class ParseResult:
    records: list[EntryRecord]
    errors: list[LineError]


_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s|[。！？]")


def first_sentence(text: str) -> str:
    """The first sentence of ``text``, cut to the title length at a word boundary."""
    text = " ".join(text.split())
    match = _SENTENCE_END.search(text)
    sentence = text[: match.end()].strip() if match else text
    if len(sentence) > MAX_TITLE:
        cut = sentence[: MAX_TITLE - 1]
        space = cut.rfind(" ")
        sentence = (cut[:space] if space > MAX_TITLE // 2 else cut).rstrip(" ,;:") + "…"
    return sentence


def _string(
    obj: dict, key: str, errors: list[LineError], line: int, *, required: bool, max_length: int | None = None
) -> str | None:
    if key not in obj or obj[key] is None:
        if required:
            errors.append(LineError(line, key, "is required"))
        return None
    value = obj[key]
    if not isinstance(value, str):
        errors.append(LineError(line, key, "must be a string"))
        return None
    value = value.strip()
    if (bad := unstorable_character(value)) is not None:
        errors.append(LineError(line, key, f"contains a character that cannot be stored ({bad})"))
        return None
    if max_length and len(value) > max_length:
        errors.append(LineError(line, key, f"has {len(value)} characters; at most {max_length} allowed"))
    return value


def content_from_row(obj: Mapping[str, Any], kind: str, *, vocabulary: Vocabulary | None = None) -> EntryContent:
    """A line's content as the entry's content, through the parser of the API and the web form
    (``kb.content.entry_content``): a line is the whole content, so a key it leaves out takes the
    model's default (no tags; the text's language as working language; a blank title, the
    description's first sentence), except a required one (``kb.content``: title, description,
    language), refused as on every path. Errors are keyed by the file's own keys."""
    spec = spec_for(kind)
    allowed = OFFER_KEYS if kind == EntryKind.OFFER else NEED_KEYS
    data = {CONTENT_FIELDS.get(key, key): value for key, value in obj.items() if key in allowed - _NOT_CONTENT}
    for name in {CONTENT_FIELDS.get(key, key) for key in allowed - _NOT_CONTENT} - set(data) - spec.required:
        if name == "working_languages":
            data[name] = [data["language"]] if data.get("language") else []
        else:
            data[name] = [] if name in spec.related else spec.model_field(name).get_default()
    title, description = data.get("title"), data.get("description")
    if isinstance(title, str) and not title.strip() and isinstance(description, str) and description.strip():
        data["title"] = first_sentence(description)
    try:
        return entry_content(spec, data, vocabulary=vocabulary, whole=True)
    except ValidationError as exc:
        by_key = {_FILE_KEYS.get(name, name): messages for name, messages in exc.message_dict.items()}
        # A default the line did not give (its working languages from a bad language) is not its
        # error; a required key it left out is.
        own = {key: messages for key, messages in by_key.items() if key in obj or key in spec.required}
        raise ValidationError(own or by_key) from exc


def _validate_line(
    obj: Any, line: int, countries: set[str], vocabulary: Vocabulary, errors: list[LineError]
) -> EntryRecord | None:
    if not isinstance(obj, dict):
        errors.append(LineError(line, "", "must be a JSON object"))
        return None
    start = len(errors)
    kind = obj.get("kind")
    if kind not in (EntryKind.OFFER, EntryKind.NEED):
        errors.append(LineError(line, "kind", "must be 'offer' or 'need'"))
        return None
    allowed = OFFER_KEYS if kind == EntryKind.OFFER else NEED_KEYS
    for key in sorted(set(obj) - allowed):
        hint = " (only for needs)" if key in NEED_KEYS else " (only for offers)" if key in OFFER_KEYS else ""
        errors.append(LineError(line, printable(key), f"unknown key{hint}"))

    external_id = _string(obj, "external_id", errors, line, required=True, max_length=MAX_EXTERNAL_ID)
    if external_id == "":
        errors.append(LineError(line, "external_id", "must not be empty"))
    organisation = _string(obj, "organisation", errors, line, required=False, max_length=MAX_ORGANISATION)
    country = _string(obj, "country", errors, line, required=False)
    if country is not None and country not in countries:
        errors.append(LineError(line, "country", f"unknown ISO 3166-1 alpha-3 code: {country}"))
    if kind == EntryKind.NEED and country is None:
        errors.append(LineError(line, "country", "is required for a need"))
    if kind == EntryKind.OFFER and country is None and not organisation:
        errors.append(
            LineError(line, "country", "is required unless 'organisation' names an international organisation")
        )

    content: EntryContent | None = None
    try:
        content = content_from_row(obj, kind, vocabulary=vocabulary)
    except ValidationError as exc:
        for key, messages in exc.message_dict.items():
            errors.extend(LineError(line, key, message) for message in messages)

    status = obj.get("status")
    if status is not None and status not in FILE_STATUSES:
        errors.append(LineError(line, "status", f"must be one of {', '.join(FILE_STATUSES)}"))
    if len(errors) > start or content is None:
        return None
    return EntryRecord(
        line=line,
        kind=kind,
        external_id=external_id or "",
        country=country,
        organisation=organisation or None,
        status=status,
        content=content,
    )


def parse_lines(lines: Iterable[str], *, publish: bool) -> ParseResult:
    """Validate every line; the result holds either records or the complete list of errors."""
    countries = set(Country.objects.values_list("iso3", flat=True))
    vocabulary = Vocabulary(whole_tables=True)  # each table read once for the whole file
    errors: list[LineError] = []
    records: list[EntryRecord] = []
    seen: dict[tuple[str, str], int] = {}
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        undecodable = _UNDECODABLE.search(raw)
        if undecodable is not None:
            byte = ord(undecodable.group()) - 0xDC00
            errors.append(
                LineError(number, "", f"not valid UTF-8: byte 0x{byte:02x} at column {undecodable.start() + 1}")
            )
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, "", f"not valid JSON: {exc.msg} at column {exc.colno}"))
            continue
        except RecursionError:
            errors.append(LineError(number, "", "not valid here: JSON nested too deeply"))
            continue
        record = _validate_line(obj, number, countries, vocabulary, errors)
        if record is None:
            continue
        key = (record.kind, record.external_id)
        if key in seen:
            errors.append(
                LineError(
                    number,
                    "external_id",
                    f"{record.external_id!r} already used by the {record.kind} on line {seen[key]}",
                )
            )
            continue
        seen[key] = number
        if record.status == EntryStatus.PUBLISHED and not publish:
            errors.append(LineError(number, "status", "'published' needs the moderator's --publish flag"))
            continue
        records.append(record)
    return ParseResult(records=records if not errors else [], errors=errors)


#: What ``read_lines`` turns bytes that are not UTF-8 into (Python's "surrogateescape").
_UNDECODABLE = re.compile("[\udc80-\udcff]")


def read_lines(stream: IO) -> Iterator[str]:
    """Lines of a text or binary stream, decoded as UTF-8 (a BOM is tolerated). Bytes that are not
    UTF-8 are kept as escapes, so ``parse_lines`` reports them on their own line and checks the rest."""
    for number, line in enumerate(stream, start=1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="surrogateescape")
        if number == 1:
            line = line.lstrip("\ufeff")
        yield line


# --- export ---------------------------------------------------------------------------------------

_EXPORT_STATUS: dict[str, str] = {
    EntryStatus.DRAFT: "draft",
    EntryStatus.RETURNED: "draft",
    EntryStatus.SUBMITTED: "submitted",
    EntryStatus.PUBLISHED: "published",
}


def entry_to_line(entry: ExpertiseOffer | AssistanceNeed) -> str | None:
    """One JSON line for ``entry`` (its published content), or None for archived entries."""
    status = _EXPORT_STATUS.get(entry.status)
    if status is None:
        return None
    is_offer = isinstance(entry, ExpertiseOffer)
    country = entry.organisation.country if isinstance(entry, ExpertiseOffer) else entry.country
    organisation = entry.organisation
    obj: dict[str, Any] = {
        "kind": EntryKind.OFFER if is_offer else EntryKind.NEED,
        "external_id": entry.external_id,
        "country": country.iso3 if country else None,
        "organisation": organisation.name if organisation else None,
        "title": entry.title,
        "description": entry.description,
        "language": entry.language_id,
        "uncac_articles": sorted(a.number for a in entry.articles.all()),
        "ta_types": sorted(t.code for t in entry.ta_types.all()),
        "thematic_areas": sorted(t.code for t in entry.thematic_areas.all()),
        "keywords": list(entry.keywords or []),
        "languages": sorted(lang.code for lang in entry.working_languages.all()),
        "status": status,
    }
    if isinstance(entry, ExpertiseOffer):
        obj["modalities"] = sorted(m.code for m in entry.modalities.all())
        obj["capacity"] = entry.capacity
    else:
        obj["priority"] = entry.priority
        obj["south_south"] = entry.south_south
    ordered = {key: obj[key] for key in KEY_ORDER if key in obj and obj[key] is not None}
    return json.dumps(ordered, ensure_ascii=False)
