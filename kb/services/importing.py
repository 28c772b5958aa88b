"""Bulk import and export of entries in the interchange format (``INTERCHANGE.md``).

Import rules:
- The whole file is validated first (``kb.interchange.parse_lines``); if any line is invalid,
  nothing is written and every problem is reported.
- Valid files are applied in one transaction, line by line inside savepoints, so database-level
  problems are also reported per line; any of them rolls the whole import back.
- The same ``external_id`` (per kind) updates that entry; a line identical to what the database
  holds changes nothing (no write, no event, no re-index), so importing a file twice is a no-op
  the second time.
- ``publish`` is the moderator's flag: it allows ``"status": "published"`` and publishes lines
  that give no status. The status is set through the moderation machine's system transitions
  (``entry_import_status``), never by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import User
from kb.interchange import EntryRecord, LineError, entry_to_line, parse_lines
from kb.models import (
    AssistanceNeed,
    Country,
    EntryAction,
    EntryKind,
    EntryModel,
    EntryStatus,
    ExpertiseOffer,
    Organisation,
    OrganisationKind,
)
from kb.services.effects import effects_batched
from kb.services.entries import (
    entry_content_write,
    entry_snapshot,
    need_create_unchecked,
    offer_create_unchecked,
)
from kb.services.moderation import entry_import_status


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[LineError] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self) -> dict:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "dry_run": self.dry_run,
            "errors": [{"line": e.line, "key": e.key, "reason": e.reason} for e in self.errors],
        }


class _Rollback(Exception):
    pass


def _organisation(record: EntryRecord, countries: dict[str, Country]) -> Organisation | None:
    if not record.organisation:
        return None
    country = countries.get(record.country) if record.country else None
    organisation, _created = Organisation.objects.get_or_create(
        name=record.organisation,
        country=country,
        defaults={"kind": OrganisationKind.OTHER if country else OrganisationKind.INTERNATIONAL_ORGANISATION},
    )
    return organisation


def _target_status(record: EntryRecord, publish: bool) -> str:
    if record.status:
        return record.status
    return EntryStatus.PUBLISHED if publish else EntryStatus.DRAFT


def _need_country(record: EntryRecord, countries: dict[str, Country]) -> Country:
    """The need's State (the interchange parser requires it of every need)."""
    if record.country is None:
        raise ValidationError({"country": "a need needs a country"})
    return countries[record.country]


def _apply_record(record: EntryRecord, *, publish: bool, actor: User | None, countries: dict[str, Country]) -> str:
    model: EntryModel = ExpertiseOffer if record.kind == EntryKind.OFFER else AssistanceNeed
    organisation = _organisation(record, countries)
    status = _target_status(record, publish)
    existing = model.objects.select_for_update().filter(external_id=record.external_id).first()
    entry: ExpertiseOffer | AssistanceNeed
    if existing is None:
        if record.kind == EntryKind.OFFER:
            if organisation is None:
                raise ValidationError({"organisation": "an offer needs an organisation"})
            entry = offer_create_unchecked(
                actor=actor,
                organisation=organisation,
                content=record.content,
                external_id=record.external_id,
                action=EntryAction.IMPORTED,
            )
        else:
            entry = need_create_unchecked(
                actor=actor,
                country=_need_country(record, countries),
                organisation=organisation,
                content=record.content,
                external_id=record.external_id,
                action=EntryAction.IMPORTED,
            )
        if status != entry.status:
            entry_import_status(actor=actor, entry=entry, status=status)
        return "created"

    ownership_changed = False
    if isinstance(existing, ExpertiseOffer):
        if organisation is not None and existing.organisation_id != organisation.pk:
            existing.organisation = organisation
            ownership_changed = True
    else:
        country = _need_country(record, countries)
        if existing.country_id != country.pk or existing.organisation_id != (organisation.pk if organisation else None):
            existing.country, existing.organisation = country, organisation
            ownership_changed = True
    snapshot = entry_snapshot(existing)
    changed = [key for key, value in record.content.as_json().items() if snapshot.get(key) != value]
    if not changed and not ownership_changed and existing.status == status and not existing.pending_revision:
        return "unchanged"
    # An import by a moderator overwrites in place, whatever the entry's state.
    entry_content_write(entry=existing, content=record.content.only(changed))
    entry_import_status(actor=actor, entry=existing, status=status)
    return "updated"


def entries_import(
    *, lines: Iterable[str], publish: bool = False, dry_run: bool = False, actor: User | None = None
) -> ImportReport:
    """Validate and (unless ``dry_run``) apply an interchange file; all or nothing."""
    parsed = parse_lines(lines, publish=publish)
    report = ImportReport(dry_run=dry_run, errors=list(parsed.errors))
    if parsed.errors:
        return report
    countries = {c.iso3: c for c in Country.objects.all()}
    try:
        with transaction.atomic(durable=True), effects_batched():
            for record in parsed.records:
                try:
                    with transaction.atomic():
                        outcome = _apply_record(record, publish=publish, actor=actor, countries=countries)
                except ValidationError as exc:
                    for key, messages in exc.message_dict.items():
                        for message in messages:
                            report.errors.append(LineError(record.line, "" if key == "__all__" else key, message))
                    continue
                setattr(report, outcome, getattr(report, outcome) + 1)
            if report.errors or dry_run:
                raise _Rollback
    except _Rollback:
        if report.errors:
            report.created = report.updated = report.unchanged = 0
    return report


def entries_import_file(
    *, stream: IO, publish: bool = False, dry_run: bool = False, actor: User | None = None
) -> ImportReport:
    from kb.interchange import read_lines

    return entries_import(lines=list(read_lines(stream)), publish=publish, dry_run=dry_run, actor=actor)


def entries_export_lines(*, statuses: Iterable[str] | None = None) -> Iterator[str]:
    """Interchange lines (without newline) of every exportable entry: offers, then needs."""
    for model in (ExpertiseOffer, AssistanceNeed):
        qs = model.objects.exclude(status=EntryStatus.ARCHIVED).order_by("id")
        if statuses:
            qs = qs.filter(status__in=list(statuses))
        related = ["organisation__country", "language"] + (["country"] if model is AssistanceNeed else [])
        prefetch = ["articles", "ta_types", "thematic_areas", "working_languages"] + (
            ["modalities"] if model is ExpertiseOffer else []
        )
        for entry in qs.select_related(*related).prefetch_related(*prefetch).iterator(chunk_size=1000):
            line = entry_to_line(entry)
            if line is not None:
                yield line


def entries_export(*, out: IO[str], statuses: Iterable[str] | None = None) -> int:
    """Write every exportable entry to ``out``. Returns the count."""
    written = 0
    for line in entries_export_lines(statuses=statuses):
        out.write(line + "\n")
        written += 1
    return written
