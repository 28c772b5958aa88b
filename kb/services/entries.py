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
- Services take an entry's content as one checked ``kb.content.EntryContent`` (built by the API,
  the web form and the import alike); they add what only the entry can tell (its contact person,
  the whole row's constraints, what a submission needs).
- Every write is validated completely before anything is saved, runs in one transaction, leaves
  an ``EntryEvent``, and queues search indexing after commit.
"""

from __future__ import annotations

import copy
import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Membership, User
from core.attachments import attachment_files_delete
from kb.content import EntryContent, entry_content, required_errors, spec_for
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
    Organisation,
    RevisionStatus,
)
from kb.selectors import entry_can_manage, entry_contact_choices, entry_contact_current, user_scope
from kb.services.effects import entry_changed_on_commit
from kb.signals import entry_moderated

EntryT = TypeVar("EntryT", bound=KnowledgeEntry)


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


def _assign(entry: KnowledgeEntry, content: EntryContent) -> None:
    """Set ``content``'s fields on ``entry`` (in memory); the contact person must act for it."""
    for name, value in content.items():
        if name in content.spec.related:
            continue
        if name == "language":
            entry.language_id = value
        elif name == "keywords":
            entry.keywords = list(value)
        elif name == "contact_person":
            membership = _contact_membership(entry, value)
            if value and membership is None:
                raise ValidationError(
                    {"contact_person": _("Choose a member of the entry's organisation as its contact person.")}
                )
            entry.contact_person = membership
        else:
            setattr(entry, name, value)


def _validate(entry: KnowledgeEntry, content: EntryContent) -> None:
    """Assign ``content`` to ``entry`` (in memory) and validate the whole row (``full_clean``:
    required fields, constraints) for what only the entry can tell."""
    if content.spec is not spec_for(entry):
        raise TypeError(f"{content.kind} content given for {type(entry).__name__}")
    # A new entry's content is all of it: a required field it leaves out has the message of every path.
    errors = required_errors(content.spec, content, whole=entry._state.adding)
    try:
        _assign(entry, content)
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


def _save(entry: KnowledgeEntry, content: EntryContent) -> None:
    entry.save()
    for name, ids in content.ids.items():
        getattr(entry, name).set(ids)


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


def _create(entry: EntryT, content: EntryContent, *, actor: User | None, action: str) -> EntryT:
    """Validate ``content`` onto a new ``entry``, save it with its tags, record and announce it."""
    content = content.with_working_languages_default()
    _validate(entry, content)
    _save(entry, content)
    entry_event_record(entry=entry, action=action, actor=actor, to_status=entry.status)
    entry_changed_on_commit(content.kind, [entry.pk])
    return entry


def offer_create_unchecked(
    *,
    actor: User | None,
    organisation: Organisation,
    content: EntryContent,
    external_id: str | None = None,
    action: str = EntryAction.CREATED,
) -> ExpertiseOffer:
    """Create an offer without the permission check (bulk import by a moderator). Not durable."""
    offer = ExpertiseOffer(
        organisation=organisation,
        created_by=actor,
        external_id=external_id or new_external_id(EntryKind.OFFER),
    )
    return _create(offer, content, actor=actor, action=action)


def offer_create(
    *, actor: User, organisation: Organisation, content: EntryContent, submit: bool = False
) -> ExpertiseOffer:
    """A provider focal point registers expertise for their organisation, as a draft (and submits
    it for moderation in the same transaction with ``submit``: both happen or neither)."""
    _require(
        organisation.pk in user_scope(actor).provider_org_ids,
        _("Only provider focal points of %(org)s can register its expertise.") % {"org": organisation},
    )
    with transaction.atomic(durable=True):
        offer = offer_create_unchecked(actor=actor, organisation=organisation, content=content)
        return _submit(actor=actor, entry=offer) if submit else offer


def need_create_unchecked(
    *,
    actor: User | None,
    country: Country,
    organisation: Organisation | None,
    content: EntryContent,
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
    return _create(need, content, actor=actor, action=action)


def need_create(
    *, actor: User, organisation: Organisation, content: EntryContent, submit: bool = False
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
        need = need_create_unchecked(actor=actor, country=country, organisation=organisation, content=content)
        return _submit(actor=actor, entry=need) if submit else need


# --- update --------------------------------------------------------------------------------------

_EDITABLE_IN_PLACE = {EntryStatus.DRAFT, EntryStatus.RETURNED}


def entry_content_write(*, entry: KnowledgeEntry, content: EntryContent) -> None:
    """Validate ``content`` against ``entry`` and save it in place, whatever the entry's state.

    The building block of editing a draft and of a moderator's bulk import; callers decide
    whether the state allows it and record the event.
    """
    _validate(entry, content)
    _save(entry, content)
    entry_changed_on_commit(content.kind, [entry.pk])


def entry_update_unchecked(*, actor: User | None, entry: KnowledgeEntry, content: EntryContent) -> KnowledgeEntry:
    """Apply changes in place (draft/returned), or as pending changes of a published entry."""
    spec = spec_for(entry)
    if entry.status in _EDITABLE_IN_PLACE:
        entry_content_write(entry=entry, content=content)
        entry_event_record(
            entry=entry, action=EntryAction.EDITED, actor=actor, from_status=entry.status, to_status=entry.status
        )
        return entry
    if entry.status == EntryStatus.PUBLISHED:
        base = entry.pending_revision or entry_snapshot(entry)
        # The whole proposed version, checked as one content and against the entry; nothing of it is saved.
        proposed = entry_content(spec, {**base, **content.as_json()})
        _validate(copy.copy(entry), proposed)
        if actor is not None:  # proposed changes go straight to the moderators
            entry_submission_check(proposed)
        entry.pending_revision = proposed.as_json()
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


def entry_update(*, actor: User, entry: KnowledgeEntry, content: EntryContent, submit: bool = False) -> KnowledgeEntry:
    """Edit an entry; with ``submit``, a draft or returned entry is also submitted, atomically."""
    _require(entry_can_manage(user=actor, entry=entry), _("You can only edit your own organisation's entries."))
    with transaction.atomic(durable=True):
        locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
        updated = entry_update_unchecked(actor=actor, entry=locked, content=content)
        if submit and updated.status in _EDITABLE_IN_PLACE:
            return _submit(actor=actor, entry=updated)
        return updated


def revision_apply(entry: KnowledgeEntry) -> None:
    """Copy ``pending_revision`` into the entry's fields (moderator approved it). A contact person
    who left the organisation since the changes were proposed is dropped, not an error."""
    revision = dict(entry.pending_revision or {})
    if revision.get("contact_person") and _contact_membership(entry, revision["contact_person"]) is None:
        revision["contact_person"] = None
    content = entry_content(entry, revision)
    _validate(entry, content)
    entry.pending_revision = None
    entry.revision_status = RevisionStatus.NONE
    _save(entry, content)


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
