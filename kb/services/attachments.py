"""Adding and removing documents attached to offers and needs.

Invariants:
- Only the entry's focal points add documents (``entry_can_manage``); they and moderators remove
  them. Archived entries are read-only. An entry carries at most ``MAX_ATTACHMENTS`` documents.
- Every upload is checked before anything is stored (size, content by its bytes, kind of
  document: ``core.attachments.attachment_check``), each error naming its field.
- A row and its file go together: a file stored for a transaction that rolls back is removed at
  once; a removed row's file is deleted after commit. Each addition and removal is an
  ``EntryEvent`` with the file's name as its reason.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core.attachments import (
    attachment_file_store,
    attachment_files_delete,
    attachment_files_removed_on_failure,
    attachment_upload_check,
)
from kb.exceptions import EntryNotEditable
from kb.models import (
    NEED_ATTACHMENT_KINDS,
    OFFER_ATTACHMENT_KINDS,
    EntryAction,
    EntryAttachment,
    EntryStatus,
    ExpertiseOffer,
    KnowledgeEntry,
)
from kb.selectors import entry_can_manage, user_scope
from kb.services.entries import entry_event_record

#: Documents one entry (or one engagement) may carry: enough for a real file, bounded against abuse.
MAX_ATTACHMENTS = 20


def attachment_kinds_for(entry: KnowledgeEntry) -> tuple[str, ...]:
    return tuple(OFFER_ATTACHMENT_KINDS if isinstance(entry, ExpertiseOffer) else NEED_ATTACHMENT_KINDS)


def _entry_field(entry: KnowledgeEntry) -> str:
    return "offer" if isinstance(entry, ExpertiseOffer) else "need"


def entry_attachment_add(*, actor: User, entry: KnowledgeEntry, upload: UploadedFile, kind: str) -> EntryAttachment:
    """Attach ``upload`` (a Django ``UploadedFile``) to ``entry`` as a document of ``kind``."""
    if not entry_can_manage(user=actor, entry=entry):
        raise PermissionDenied(_("Only the entry's focal points can attach documents to it."))
    name, content_type = attachment_upload_check(upload, kind=kind, kinds=attachment_kinds_for(entry))
    field = _entry_field(entry)
    with attachment_files_removed_on_failure() as stored, transaction.atomic(durable=True):
        locked = type(entry)._default_manager.select_for_update().get(pk=entry.pk)
        if locked.status == EntryStatus.ARCHIVED:
            raise EntryNotEditable(_("Archived entries cannot be edited; restore it to a draft first."))
        if EntryAttachment.objects.filter(**{field: locked}).count() >= MAX_ATTACHMENTS:
            raise ValidationError(
                {"file": _("An entry carries at most %(n)d documents; remove one first.") % {"n": MAX_ATTACHMENTS}}
            )
        attachment = EntryAttachment(
            kind=kind, name=name, content_type=content_type, size=upload.size or 0, uploaded_by=actor, **{field: locked}
        )
        attachment_file_store(attachment, upload, name, stored)
        entry_event_record(
            entry=locked,
            action=EntryAction.ATTACHED,
            actor=actor,
            from_status=locked.status,
            to_status=locked.status,
            reason=name,
        )
    return attachment


def entry_attachment_delete(*, actor: User, attachment: EntryAttachment) -> None:
    entry = attachment.entry
    if not (user_scope(actor).is_moderator or entry_can_manage(user=actor, entry=entry)):
        raise PermissionDenied(_("Only the entry's focal points and moderators can remove its documents."))
    with transaction.atomic(durable=True):
        locked = EntryAttachment.objects.select_for_update().filter(pk=attachment.pk).first()
        if locked is None:  # removed meanwhile: nothing left to do
            return
        stored = locked.file.name
        locked.delete()
        entry_event_record(
            entry=entry, action=EntryAction.DETACHED, actor=actor, from_status=entry.status, to_status=entry.status,
            reason=locked.name,
        )  # fmt: skip
        transaction.on_commit(lambda: attachment_files_delete([stored]))
