"""Documents attached to offers and needs (terms of reference, concept notes, a country review's
executive summary on a need). Storage, accepted types and serving: ``core.attachments``.

Invariants: an attachment belongs to exactly one entry; it is read by whoever may read the entry
(``kb.selectors.entry_attachment_get_for_user``) and added or removed by the entry's focal points
(``kb.services.attachments``). Deleting the entry deletes its attachments and their files.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core.attachments import Attachment, AttachmentKind
from kb.models.entries import AssistanceNeed, ExpertiseOffer

#: The kinds of document an offer or a need may carry (a review summary is a need's).
OFFER_ATTACHMENT_KINDS = (AttachmentKind.TERMS_OF_REFERENCE, AttachmentKind.CONCEPT_NOTE, AttachmentKind.OTHER)
NEED_ATTACHMENT_KINDS = (
    AttachmentKind.TERMS_OF_REFERENCE,
    AttachmentKind.CONCEPT_NOTE,
    AttachmentKind.REVIEW_SUMMARY,
    AttachmentKind.OTHER,
)


class EntryAttachment(Attachment):
    offer = models.ForeignKey(
        ExpertiseOffer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("offer"),
    )
    need = models.ForeignKey(
        AssistanceNeed,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="attachments",
        verbose_name=_("need"),
    )

    class Meta(Attachment.Meta):
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(offer__isnull=False) & models.Q(need__isnull=True))
                | (models.Q(offer__isnull=True) & models.Q(need__isnull=False)),
                name="kb_attachment_one_entry",
            ),
        ]

    @property
    def entry(self):
        return self.offer if self.offer_id else self.need
