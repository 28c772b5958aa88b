"""Documents shared on an engagement: mission reports, terms of reference, concept notes.

Invariants: both sides' focal points (and moderators) add and remove them, in any state of the
engagement (a mission report comes after completion); they read them as they read the
engagement (``matching.selectors.engagement_attachment_get_for_user``). Checks, storage and
serving are ``core.attachments``'; a file stored for a rolled-back transaction is removed at once,
a removed row's file after commit. The row says who added a document and when; the
engagement's history (``EngagementEvent``) stays the state machine's.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from core.attachments import (
    AttachmentKind,
    attachment_file_store,
    attachment_files_delete,
    attachment_files_removed_on_failure,
    attachment_upload_check,
)
from core.state_machine import NOBODY
from kb.services.attachments import MAX_ATTACHMENTS
from matching.models import Engagement, EngagementAttachment
from matching.services.engagements import sides_of

ENGAGEMENT_ATTACHMENT_KINDS = (
    AttachmentKind.MISSION_REPORT,
    AttachmentKind.TERMS_OF_REFERENCE,
    AttachmentKind.CONCEPT_NOTE,
    AttachmentKind.OTHER,
)


def engagement_attachment_add(
    *, actor: User, engagement: Engagement, upload: UploadedFile, kind: str
) -> EngagementAttachment:
    if sides_of(actor, engagement) == NOBODY:
        raise PermissionDenied(_("Only the focal points of the engagement's two sides can attach documents."))
    name, content_type = attachment_upload_check(upload, kind=kind, kinds=ENGAGEMENT_ATTACHMENT_KINDS)
    with attachment_files_removed_on_failure() as stored, transaction.atomic(durable=True):
        locked = Engagement.objects.select_for_update().get(pk=engagement.pk)
        if EngagementAttachment.objects.filter(engagement=locked).count() >= MAX_ATTACHMENTS:
            raise ValidationError(
                {"file": _("An engagement carries at most %(n)d documents; remove one first.") % {"n": MAX_ATTACHMENTS}}
            )
        attachment = EngagementAttachment(
            engagement=locked,
            kind=kind,
            name=name,
            content_type=content_type,
            size=upload.size or 0,
            uploaded_by=actor,
        )
        attachment_file_store(attachment, upload, name, stored)
    return attachment


def engagement_attachment_delete(*, actor: User, attachment: EngagementAttachment) -> None:
    if sides_of(actor, attachment.engagement) == NOBODY:
        raise PermissionDenied(_("Only the focal points of the engagement's two sides can remove its documents."))
    with transaction.atomic(durable=True):
        locked = EngagementAttachment.objects.select_for_update().filter(pk=attachment.pk).first()
        if locked is None:
            return
        stored = locked.file.name
        locked.delete()
        transaction.on_commit(lambda: attachment_files_delete([stored]))
