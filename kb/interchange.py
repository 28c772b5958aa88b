"""The interchange format (``INTERCHANGE.md``): JSON Lines of offers and needs.

This module only parses, validates and serialises; writing to the database is
``kb.services.importing``. Validation is complete and per line, in one pass: every problem of every
line is reported with its line number, key and reason (a line that is not UTF-8 or not JSON is
reported and the others are still checked), and unknown keys are errors (so typos are caught).
Text is checked against the same limits as every other path (``kb.models``, ``kb.validators``):
lengths, keywords, and characters that cannot be stored (NUL, lone surrogates).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from django.core.exceptions import ValidationError

from kb.models import (
    MAX_DESCRIPTION_LENGTH,
    MAX_TITLE_LENGTH,
    AssistanceNeed,
    Country,
    EntryKind,
    EntryStatus,
    ExpertiseOffer,
    Language,
    Modality,
    Priority,
    SouthSouthPreference,
    TAType,
    ThematicArea,
)
from kb.validators import keywords_clean, unstorable_character

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
FILE_STATUSES = (EntryStatus.DRAFT, EntryStatus.SUBMITTED, EntryStatus.PUBLISHED)
MAX_TITLE = MAX_TITLE_LENGTH
MAX_EXTERNAL_ID = 100
MAX_ORGANISATION = 200


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
    data: dict[str, Any] = field(default_factory=dict)  # fields for kb.services.entries


@dataclass
class ParseResult:
    records: list[EntryRecord]
    errors: list[LineError]


class _Vocabulary:
    """Valid codes, loaded once per file."""

    def __init__(self) -> None:
        self.countries = set(Country.objects.values_list("iso3", flat=True))
        self.languages = set(Language.objects.values_list("code", flat=True))
        self.ta_types = set(TAType.objects.values_list("code", flat=True))
        self.thematic_areas = set(ThematicArea.objects.values_list("code", flat=True))
        self.modalities = set(Modality.objects.values_list("code", flat=True))


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


def _printable(text: str) -> str:
    """``text`` safe to print and store in a report (unstorable characters as escapes)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _code_list(obj: dict, key: str, valid: set[str], errors: list[LineError], line: int) -> list[str]:
    value = obj.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.append(LineError(line, key, "must be a list of strings"))
        return []
    if any(unstorable_character(v) is not None for v in value):
        errors.append(LineError(line, key, "contains a character that cannot be stored"))
        return []
    unknown = sorted({v for v in value if v not in valid})
    if unknown:
        errors.append(LineError(line, key, f"unknown code(s): {', '.join(unknown)}"))
    return sorted(dict.fromkeys(value))


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


def _validate_line(obj: Any, line: int, vocabulary: _Vocabulary, errors: list[LineError]) -> EntryRecord | None:
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
        errors.append(LineError(line, _printable(key), f"unknown key{hint}"))

    external_id = _string(obj, "external_id", errors, line, required=True, max_length=MAX_EXTERNAL_ID)
    if external_id == "":
        errors.append(LineError(line, "external_id", "must not be empty"))
    organisation = _string(obj, "organisation", errors, line, required=False, max_length=MAX_ORGANISATION)
    country = _string(obj, "country", errors, line, required=False)
    if country is not None and country not in vocabulary.countries:
        errors.append(LineError(line, "country", f"unknown ISO 3166-1 alpha-3 code: {country}"))
    if kind == EntryKind.NEED and country is None:
        errors.append(LineError(line, "country", "is required for a need"))
    if kind == EntryKind.OFFER and country is None and not organisation:
        errors.append(
            LineError(line, "country", "is required unless 'organisation' names an international organisation")
        )

    description = _string(obj, "description", errors, line, required=True, max_length=MAX_DESCRIPTION_LENGTH)
    if description == "":
        errors.append(LineError(line, "description", "must not be empty"))
    title = _string(obj, "title", errors, line, required=True, max_length=MAX_TITLE)
    if title == "" and description:
        title = first_sentence(description)

    language = _string(obj, "language", errors, line, required=True)
    if language is not None and language not in vocabulary.languages:
        errors.append(LineError(line, "language", f"unknown ISO 639-1 code: {language}"))

    articles = obj.get("uncac_articles", [])
    if not isinstance(articles, list) or not all(isinstance(a, int) and not isinstance(a, bool) for a in articles):
        errors.append(LineError(line, "uncac_articles", "must be a list of integers"))
        articles = []
    elif any(not 1 <= a <= 71 for a in articles):
        bad = sorted({a for a in articles if not 1 <= a <= 71})
        errors.append(LineError(line, "uncac_articles", f"articles run from 1 to 71; got {bad}"))
    try:
        keywords = keywords_clean(obj.get("keywords", []))
    except ValidationError as exc:
        errors.extend(LineError(line, "keywords", message) for message in exc.message_dict["keywords"])
        keywords = []
    working = _code_list(obj, "languages", vocabulary.languages, errors, line) if "languages" in obj else None

    data: dict[str, Any] = {
        "title": title,
        "description": description,
        "language": language,
        "articles": sorted(set(articles)),
        "ta_types": _code_list(obj, "ta_types", vocabulary.ta_types, errors, line),
        "thematic_areas": _code_list(obj, "thematic_areas", vocabulary.thematic_areas, errors, line),
        "keywords": keywords,
        "working_languages": working if working is not None else ([language] if language else []),
    }
    if kind == EntryKind.OFFER:
        data["modalities"] = _code_list(obj, "modalities", vocabulary.modalities, errors, line)
        capacity = obj.get("capacity", 1)
        if not isinstance(capacity, int) or isinstance(capacity, bool) or capacity < 0:
            errors.append(LineError(line, "capacity", "must be an integer ≥ 0"))
        elif capacity > 1000:
            errors.append(LineError(line, "capacity", "must be at most 1000 engagements a year"))
        data["capacity"] = capacity
    else:
        priority = obj.get("priority", Priority.MEDIUM)
        if priority not in Priority.values:
            errors.append(LineError(line, "priority", f"must be one of {', '.join(Priority.values)}"))
        south_south = obj.get("south_south", SouthSouthPreference.NONE)
        if south_south not in SouthSouthPreference.values:
            errors.append(LineError(line, "south_south", f"must be one of {', '.join(SouthSouthPreference.values)}"))
        data["priority"] = priority
        data["south_south"] = south_south

    status = obj.get("status")
    if status is not None and status not in FILE_STATUSES:
        errors.append(LineError(line, "status", f"must be one of {', '.join(FILE_STATUSES)}"))
    if len(errors) > start:
        return None
    return EntryRecord(
        line=line,
        kind=kind,
        external_id=external_id or "",
        country=country,
        organisation=organisation or None,
        status=status,
        data=data,
    )


def parse_lines(lines: Iterable[str], *, publish: bool) -> ParseResult:
    """Validate every line; the result holds either records or the complete list of errors."""
    vocabulary = _Vocabulary()
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
        record = _validate_line(obj, number, vocabulary, errors)
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
