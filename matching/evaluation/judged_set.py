"""A judged set: needs, offers and the offers a practitioner would propose for each need.

The format is the dev set's (``needs.jsonl``, ``offers.jsonl``, ``judgments.jsonl``; see
``docs/MATCHING.md``). The same format is what ``export_judgments`` writes from the knowledge base's
own history, so the secretariat can evaluate and re-fit matching on its own decisions.

A judgment lists the relevant offers best first (``offer_ids``); it may also list offers judged
*not* relevant (``negative_offer_ids``: declined or dismissed proposals), which the fitting command
uses and the metrics ignore.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kb.interchange import first_sentence

FILES = ("needs.jsonl", "offers.jsonl", "judgments.jsonl")


class JudgedSetError(ValueError):
    """The directory is not a judged set; the message names the file, line and key."""


@dataclass(frozen=True)
class Judgment:
    need_id: str
    offer_ids: tuple[str, ...]  # relevant, best first
    negative_offer_ids: tuple[str, ...] = ()
    #: Graded relevance when known (e.g. a completed engagement's rating), else by rank.
    grades: dict[str, float] = field(default_factory=dict)


@dataclass
class JudgedSet:
    needs: list[dict]
    offers: list[dict]
    judgments: dict[str, Judgment]

    def language_of(self, need_id: str) -> str:
        return self._need_language[need_id]

    def __post_init__(self) -> None:
        self._need_language = {n["id"]: n["lang"] for n in self.needs}


def _read_jsonl(path: Path, required: tuple[str, ...]) -> list[dict]:
    rows = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError as exc:
        raise JudgedSetError(f"{path.name}: missing") from exc
    except UnicodeDecodeError as exc:
        raise JudgedSetError(f"{path.name}: not UTF-8 ({exc.reason})") from exc
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise JudgedSetError(f"{path.name} line {number}: not JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise JudgedSetError(f"{path.name} line {number}: must be a JSON object")
        for key in required:
            if key not in row:
                raise JudgedSetError(f"{path.name} line {number}: '{key}' is required")
        rows.append(row)
    return rows


def judged_set_read(directory: str | Path) -> JudgedSet:
    directory = Path(directory)
    needs = _read_jsonl(directory / "needs.jsonl", ("id", "iso3", "lang", "text"))
    offers = _read_jsonl(directory / "offers.jsonl", ("id", "lang", "text"))
    need_ids = {n["id"] for n in needs}
    offer_ids = {o["id"] for o in offers}
    judgments: dict[str, Judgment] = {}
    for number, row in enumerate(_read_jsonl(directory / "judgments.jsonl", ("need_id", "offer_ids")), start=1):
        if row["need_id"] not in need_ids:
            raise JudgedSetError(f"judgments.jsonl line {number}: unknown need '{row['need_id']}'")
        listed = [*row["offer_ids"], *row.get("negative_offer_ids", [])]
        unknown = sorted(set(listed) - offer_ids)
        if unknown:
            raise JudgedSetError(f"judgments.jsonl line {number}: unknown offers {unknown}")
        judgments[row["need_id"]] = Judgment(
            need_id=row["need_id"],
            offer_ids=tuple(row["offer_ids"]),
            negative_offer_ids=tuple(row.get("negative_offer_ids", [])),
            grades={k: float(v) for k, v in (row.get("grades") or {}).items()},
        )
    return JudgedSet(needs=needs, offers=offers, judgments=judgments)


def interchange_lines(judged: JudgedSet) -> list[str]:
    """The set as interchange lines for ``import_kb``: every entry published.

    Offers: ``provider`` names the organisation (an international one when ``iso3`` is null) and
    ``areas`` become keywords; needs and offers take the first sentence as title. Each entry keeps
    its id as ``external_id``. Optional keys (``ta_types``, ``thematic_areas``, ``priority``,
    ``south_south``, ``capacity``) pass through when present.
    """
    lines = []
    for offer in judged.offers:
        line = {
            "kind": "offer",
            "external_id": offer["id"],
            "country": offer.get("iso3"),
            "organisation": offer.get("provider") or offer["id"],
            "title": offer.get("title") or first_sentence(offer["text"]),
            "description": offer["text"],
            "language": offer["lang"],
            "uncac_articles": offer.get("articles", []),
            "ta_types": _codes(offer, "ta_type", "ta_types"),
            "keywords": [a for a in offer.get("areas", []) if isinstance(a, str) and a.strip()],
            "capacity": offer.get("capacity", 5),
            "status": "published",
        }
        if offer.get("thematic_areas"):
            line["thematic_areas"] = offer["thematic_areas"]
        if line["country"] is None:
            del line["country"]
        lines.append(json.dumps(line, ensure_ascii=False))
    for need in judged.needs:
        line = {
            "kind": "need",
            "external_id": need["id"],
            "country": need["iso3"],
            "title": need.get("title") or first_sentence(need["text"]),
            "description": need["text"],
            "language": need["lang"],
            "uncac_articles": need.get("articles", []),
            "ta_types": _codes(need, "ta_type", "ta_types"),
            "status": "published",
        }
        for key in ("thematic_areas", "priority", "south_south"):
            if need.get(key):
                line[key] = need[key]
        lines.append(json.dumps(line, ensure_ascii=False))
    return lines


def _codes(row: dict, single: str, plural: str) -> list[str]:
    if row.get(plural):
        return list(row[plural])
    return [row[single]] if row.get(single) else []
