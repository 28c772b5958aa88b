"""Creating, editing and deleting offers and needs.

Invariants:
- Only a focal point of the owning organisation (provider role for offers, recipient role for
  needs; for a need without an organisation, a recipient focal point of its State) creates, edits
  or deletes an entry. Ownership (organisation, State) is fixed at creation.
- Draft and returned entries are edited in place. Editing a published entry stores the complete
  new version in ``pending_revision`` and submits it for review; the published content stays
  visible until a moderator approves (``kb.services.moderation``).
- A submitted entry is frozen until withdrawn or moderated; archived entries are read-only.
- Only entries that were never published can be deleted (a published one is archived instead).
- A draft may be incomplete; what goes to the moderators may not: a submission (and every change
  proposed to a published entry) names at least one UNCAC article and one type of assistance
  (``entry_submission_check``), which matching and the secretariat's picture rely on.
- Every write is validated completely before anything is saved, runs in one transaction, leaves
  an ``EntryEvent``, and queues search indexing after commit.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from core.attachments import attachment_files_delete
from kb.exceptions import EntryNotEditable
from kb.models import (
    AssistanceNeed,
    Country,
    EntryAction,
    EntryAttachment,
    EntryEvent,
    EntryKind,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
    Language,
    Modality,
    Organisation,
    Region,
    RevisionStatus,
    TAType,
    ThematicArea,
    UncacArticle,
)
from kb.selectors import entry_can_manage, entry_contact_choices, entry_contact_current, user_scope
from kb.services.effects import entry_changed_on_commit
from kb.signals import entry_moderated
from kb.validators import keywords_clean

EntryT = TypeVar("EntryT", bound=KnowledgeEntry)


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
    kind: str
    model: type[KnowledgeEntry]
    scalars: tuple[str, ...]
    related: dict[str, RelatedSpec]

    @property
    def fields(self) -> tuple[str, ...]:
        return self.scalars + tuple(self.related)


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


def spec_for(entry: KnowledgeEntry | type[KnowledgeEntry]) -> EntrySpec:
    model = entry if isinstance(entry, type) else type(entry)
    return OFFER_SPEC if issubclass(model, ExpertiseOffer) else NEED_SPEC


# --- canonical data ------------------------------------------------------------------------------


def entry_snapshot(entry: KnowledgeEntry) -> dict[str, Any]:
    """The editable content of ``entry`` as plain JSON values (codes for related rows)."""
    spec = spec_for(entry)
    data: dict[str, Any] = {}
    for name in spec.scalars:
        if name == "language":
            data[name] = entry.language_id
        elif name == "contact_person":
            data[name] = _contact_email(entry)
        else:
            value = getattr(entry, name)
            data[name] = value.isoformat() if isinstance(value, dt.date) else value
    for name, related in spec.related.items():
        values = [getattr(obj, related.key) for obj in getattr(entry, name).all()] if entry.pk else []
        data[name] = sorted(values)
    return data


def _contact_email(entry: KnowledgeEntry) -> str | None:
    """The contact person's e-mail, while they still act for the entry (else ``None``)."""
    membership = entry_contact_current(entry=entry)
    return membership.user.email if membership else None


def _contact_membership(entry: KnowledgeEntry, email: str | None) -> Membership | None:
    """The membership ``email`` holds for ``entry`` (``entry_contact_choices``), or ``None``."""
    if not email:
        return None
    return entry_contact_choices(entry=entry).filter(user__email__iexact=str(email).strip()).first()


def _resolve_related(spec: EntrySpec, data: Mapping[str, Any]) -> dict[str, list[models.Model]]:
    resolved: dict[str, list[models.Model]] = {}
    errors: dict[str, str] = {}
    for name, related in spec.related.items():
        if name not in data:
            continue
        keys = data[name] or []
        if not isinstance(keys, list | tuple):
            errors[name] = _("Give a list.")
            continue
        unique_keys = list(dict.fromkeys(keys))
        try:
            rows = {
                getattr(obj, related.key): obj
                for obj in related.model._default_manager.filter(**{f"{related.key}__in": unique_keys})
            }
        except (TypeError, ValueError):
            rows = {}
        unknown = [str(k) for k in unique_keys if k not in rows]
        if unknown:
            errors[name] = _("Unknown value(s): %(values)s.") % {"values": ", ".join(unknown)}
            continue
        resolved[name] = [rows[k] for k in unique_keys]
    if errors:
        raise ValidationError(errors)
    return resolved


def _assign_scalars(entry: KnowledgeEntry, spec: EntrySpec, data: Mapping[str, Any]) -> None:
    unknown = set(data) - set(spec.fields)
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in sorted(unknown)})
    for name in spec.scalars:
        if name not in data:
            continue
        value = data[name]
        if name == "language":
            if not Language.objects.filter(code=value).exists():
                raise ValidationError({"language": _("Unknown language code: %(code)s.") % {"code": value}})
            entry.language_id = value
        elif name == "keywords":
            entry.keywords = keywords_clean(value)
        elif name == "contact_person":
            membership = _contact_membership(entry, value)
            if value and membership is None:
                raise ValidationError(
                    {"contact_person": _("Choose a member of the entry's organisation as its contact person.")}
                )
            entry.contact_person = membership
        elif name in ("timeframe_start", "timeframe_end") and isinstance(value, str):
            try:
                setattr(entry, name, dt.date.fromisoformat(value) if value else None)
            except ValueError as exc:
                raise ValidationError({name: _("Give a date as YYYY-MM-DD.")}) from exc
        else:
            setattr(
                entry,
                name,
                "" if value is None and name in ("contact_name", "contact_email", "source_reference") else value,
            )


def _validate(entry: KnowledgeEntry, spec: EntrySpec, data: Mapping[str, Any]) -> dict[str, list]:
    """Assign ``data`` to ``entry`` (in memory) and validate everything; returns resolved m2m."""
    errors: dict[str, list[str]] = {}
    related: dict[str, list] = {}
    try:
        _assign_scalars(entry, spec, data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        related = _resolve_related(spec, data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        concrete = {f.name for f in entry._meta.concrete_fields}
        entry.full_clean(exclude=[f for f in errors if f in concrete])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, []).extend(messages if isinstance(messages, list) else [messages])
    if errors:
        raise ValidationError(errors)
    return related


def _save(entry: KnowledgeEntry, related: Mapping[str, list]) -> None:
    entry.save()
    for name, objects in related.items():
        getattr(entry, name).set(objects)


def entry_event_record(
    *,
    entry: KnowledgeEntry,
    action: str,
    actor: User | None,
    from_status: str = "",
    to_status: str = "",
    reason: str = "",
) -> EntryEvent:
    kind = spec_for(entry).kind
    return EntryEvent.objects.create(
        entry_kind=kind,
        entry_id=entry.pk,
        entry_title=entry.title[:200],
        offer=entry if isinstance(entry, ExpertiseOffer) else None,
        need=entry if isinstance(entry, AssistanceNeed) else None,
        action=action,
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
    )


def entry_submission_check(content: Mapping[str, Any]) -> None:
    """Refuse to submit ``content`` (an ``entry_snapshot`` or a pending revision) that lacks an
    UNCAC article or a type of assistance, naming each missing field."""
    errors = {}
    if not content.get("articles"):
        errors["articles"] = _("Choose at least one UNCAC article before submitting.")
    if not content.get("ta_types"):
        errors["ta_types"] = _("Choose at least one type of assistance before submitting.")
    if errors:
        raise ValidationError(errors)


def _submit(*, actor: User, entry: EntryT) -> EntryT:
    """Submit inside the caller's transaction (create-and-submit, save-and-submit)."""
    from kb.services.moderation import entry_transition_unchecked  # moderation builds on this module

    return entry_transition_unchecked(actor=actor, entry=entry, action="submit")


# --- create --------------------------------------------------------------------------------------


def new_external_id(kind: str) -> str:
    """A stable identifier for interchange files, for entries created in the product itself."""
    return f"ta-{kind}-{uuid.uuid4().hex[:12]}"


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise PermissionDenied(message)


def _create(entry: EntryT, spec: EntrySpec, data: Mapping[str, Any], *, actor: User | None, action: str) -> EntryT:
    """Validate ``data`` onto a new ``entry``, save it with its tags, record and announce it."""
    if "working_languages" not in data and "language" in data:
        data = {**data, "working_languages": [data["language"]]}
    related = _validate(entry, spec, data)
    _save(entry, related)
    entry_event_record(entry=entry, action=action, actor=actor, to_status=entry.status)
    entry_changed_on_commit(spec.kind, [entry.pk])
    return entry


def offer_create_unchecked(
    *,
    actor: User | None,
    organisation: Organisation,
    data: Mapping[str, Any],
    external_id: str | None = None,
    action: str = EntryAction.CREATED,
) -> ExpertiseOffer:
    """Create an offer without the permission check (bulk import by a moderator). Not durable."""
    offer = ExpertiseOffer(
        organisation=organisation,
        created_by=actor,
        external_id=external_id or new_external_id(EntryKind.OFFER),
    )
    return _create(offer, OFFER_SPEC, data, actor=actor, action=action)


def offer_create(
    *, actor: User, organisation: Organisation, data: Mapping[str, Any], submit: bool = False
) -> ExpertiseOffer:
    """A provider focal point registers expertise for their organisation, as a draft (and submits
    it for moderation in the same transaction with ``submit``: both happen or neither)."""
    _require(
        organisation.pk in user_scope(actor).provider_org_ids,
        _("Only provider focal points of %(org)s can register its expertise.") % {"org": organisation},
    )
    with transaction.atomic(durable=True):
        offer = offer_create_unchecked(actor=actor, organisation=organisation, data=data)
        return _submit(actor=actor, entry=offer) if submit else offer


def need_create_unchecked(
    *,
    actor: User | None,
    country: Country,
    organisation: Organisation | None,
    data: Mapping[str, Any],
    external_id: str | None = None,
    action: str = EntryAction.CREATED,
) -> AssistanceNeed:
    if organisation is not None and organisation.country_id != country.pk:
        raise ValidationError({"organisation": _("The organisation must belong to the recipient State.")})
    need = AssistanceNeed(
        country=country,
        organisation=organisation,
        created_by=actor,
        external_id=external_id or new_external_id(EntryKind.NEED),
    )
    return _create(need, NEED_SPEC, data, actor=actor, action=action)


def need_create(
    *, actor: User, organisation: Organisation, data: Mapping[str, Any], submit: bool = False
) -> AssistanceNeed:
    """A recipient focal point posts a need for their organisation's State, as a draft (submitted
    in the same transaction with ``submit``)."""
    _require(
        organisation.pk in user_scope(actor).recipient_org_ids,
        _("Only recipient focal points of %(org)s can post its needs.") % {"org": organisation},
    )
    country = organisation.country
    if country is None:
        raise ValidationError(
            {"organisation": _("Needs belong to a State; an international organisation cannot post one.")}
        )
    with transaction.atomic(durable=True):
        need = need_create_unchecked(actor=actor, country=country, organisation=organisation, data=data)
        return _submit(actor=actor, entry=need) if submit else need


# --- update --------------------------------------------------------------------------------------

_EDITABLE_IN_PLACE = {EntryStatus.DRAFT, EntryStatus.RETURNED}


def entry_content_write(*, entry: KnowledgeEntry, data: Mapping[str, Any]) -> None:
    """Validate ``data`` against ``entry`` and save it in place, whatever the entry's state.

    The building block of editing a draft and of a moderator's bulk import; callers decide
    whether the state allows it and record the event.
    """
    spec = spec_for(entry)
    related = _validate(entry, spec, data)
    _save(entry, related)
    entry_changed_on_commit(spec.kind, [entry.pk])


def entry_update_unchecked(*, actor: User | None, entry: KnowledgeEntry, data: Mapping[str, Any]) -> KnowledgeEntry:
    """Apply changes in place (draft/returned), or as pending changes of a published entry."""
    spec = spec_for(entry)
    if entry.status in _EDITABLE_IN_PLACE:
        entry_content_write(entry=entry, data=data)
        entry_event_record(
            entry=entry, action=EntryAction.EDITED, actor=actor, from_status=entry.status, to_status=entry.status
        )
        return entry
    if entry.status == EntryStatus.PUBLISHED:
        base = entry.pending_revision or entry_snapshot(entry)
        proposed = {**base, **data}
        candidate = copy.copy(entry)
        _validate(candidate, spec, proposed)  # validate the whole proposed version, save nothing of it
        if actor is not None:  # proposed changes go straight to the moderators
            entry_submission_check(proposed)
        entry.pending_revision = {key: proposed[key] for key in spec.fields if key in proposed}
        entry.pending_revision["keywords"] = candidate.keywords
        previous_state = entry.moderation_state
        entry.revision_status = RevisionStatus.SUBMITTED
        fields = ["pending_revision", "revision_status", "updated_at"]
        if previous_state != entry.moderation_state:  # newly waiting: the moderators' queue orders by this
            entry.submitted_at = timezone.now()
            fields.append("submitted_at")
        entry.save(update_fields=fields)
        entry_event_record(
            entry=entry,
            action=EntryAction.CHANGES_PROPOSED,
            actor=actor,
            from_status=previous_state,
            to_status=entry.moderation_state,
        )
        entry_changed_on_commit(spec.kind, [entry.pk])
        if actor is not None and previous_state != entry.moderation_state:
            # Changes newly waiting for review: the moderators hear once, not at every later edit.
            entry_moderated.send(sender=spec.kind, entry=entry, action="submit", actor=actor, reason="")
        return entry
    if entry.status == EntryStatus.SUBMITTED:
        raise EntryNotEditable(_("This entry is waiting for review; withdraw it before editing."))
    raise EntryNotEditable(_("Archived entries cannot be edited; restore it to a draft first."))


def entry_update(
    *, actor: User, entry: KnowledgeEntry, data: Mapping[str, Any], submit: bool = False
) -> KnowledgeEntry:
    """Edit an entry; with ``submit``, a draft or returned entry is also submitted, atomically."""
    _require(entry_can_manage(user=actor, entry=entry), _("You can only edit your own organisation's entries."))
    with transaction.atomic(durable=True):
        locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
        updated = entry_update_unchecked(actor=actor, entry=locked, data=data)
        if submit and updated.status in _EDITABLE_IN_PLACE:
            return _submit(actor=actor, entry=updated)
        return updated


def revision_apply(entry: KnowledgeEntry) -> None:
    """Copy ``pending_revision`` into the entry's fields (moderator approved it). A contact person
    who left the organisation since the changes were proposed is dropped, not an error."""
    spec = spec_for(entry)
    revision = dict(entry.pending_revision or {})
    if revision.get("contact_person") and _contact_membership(entry, revision["contact_person"]) is None:
        revision["contact_person"] = None
    related = _validate(entry, spec, revision)
    entry.pending_revision = None
    entry.revision_status = RevisionStatus.NONE
    _save(entry, related)


# --- delete --------------------------------------------------------------------------------------


def entry_delete(*, actor: User, entry: KnowledgeEntry) -> None:
    _require(entry_can_manage(user=actor, entry=entry), _("You can only delete your own organisation's entries."))
    with transaction.atomic(durable=True):
        locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
        if locked.status not in _EDITABLE_IN_PLACE or locked.published_at is not None:
            raise EntryNotEditable(
                _("Only drafts that were never published can be deleted; archive this entry instead.")
            )
        kind, pk = spec_for(locked).kind, locked.pk
        files = list(EntryAttachment.objects.filter(**{kind: locked}).values_list("file", flat=True))
        entry_event_record(entry=locked, action=EntryAction.DELETED, actor=actor, from_status=locked.status)
        locked.delete()  # its attachments' rows go with it, their files after commit
        entry_changed_on_commit(kind, [pk])
        transaction.on_commit(lambda: attachment_files_delete(files))
