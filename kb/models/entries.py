"""Knowledge-base entries: what providers offer and what recipients need.

Invariants:
- ``status`` changes only through ``kb.services.moderation`` following its transition table
  (draft -> submitted -> published, returned with a reason, published -> archived ...).
- A published entry keeps its published content while an edit waits for review: the edit lives in
  ``pending_revision`` (same shape as the interchange format) with ``revision_status``.
- ``row_version`` is maintained by database triggers (``kb/db_triggers.py``): it grows on every
  change of the row or of its many-to-many tags, whoever makes it (``QuerySet.update()`` and raw
  SQL included). Search uses it as the external document version so a stale write never wins.
- An ``EntryEvent`` records every write and transition: who, when, what, why.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeAlias

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from kb.validators import validate_storable_text

if TYPE_CHECKING:
    from kb.models.reference import Region

#: The longest description accepted, in characters, on every path (API, web form, import): a
#: country review's executive summary fits several times; texts are analysed, indexed and
#: highlighted, so their length is bounded.
MAX_DESCRIPTION_LENGTH = 20_000
MAX_TITLE_LENGTH = 200


class EntryStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned to author")
    PUBLISHED = "published", _("Published")
    ARCHIVED = "archived", _("Archived")


class RevisionStatus(models.TextChoices):
    NONE = "", _("No pending changes")
    SUBMITTED = "submitted", _("Changes submitted for review")
    RETURNED = "returned", _("Changes returned to author")


class ModerationState(models.TextChoices):
    """Status and pending changes combined: the states of the moderation state machine."""

    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted for review")
    RETURNED = "returned", _("Returned to author")
    PUBLISHED = "published", _("Published")
    PUBLISHED_CHANGES_SUBMITTED = "published_changes_submitted", _("Published; changes under review")
    PUBLISHED_CHANGES_RETURNED = "published_changes_returned", _("Published; changes returned")
    ARCHIVED = "archived", _("Archived")


class KnowledgeEntry(models.Model):
    """Fields and behaviour shared by offers and needs."""

    external_id = models.CharField(
        _("external id"),
        max_length=100,
        null=True,
        blank=True,
        help_text=_("Identifier used by bulk import/export; unique per kind."),
    )
    title = models.CharField(_("title"), max_length=MAX_TITLE_LENGTH, validators=[validate_storable_text])
    description = models.TextField(
        _("description"),
        max_length=MAX_DESCRIPTION_LENGTH,
        validators=[MaxLengthValidator(MAX_DESCRIPTION_LENGTH), validate_storable_text],
    )
    language = models.ForeignKey(
        "kb.Language",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("content language"),
    )
    articles = models.ManyToManyField("kb.UncacArticle", blank=True, related_name="+", verbose_name=_("UNCAC articles"))
    ta_types = models.ManyToManyField("kb.TAType", blank=True, related_name="+", verbose_name=_("TA types"))
    thematic_areas = models.ManyToManyField(
        "kb.ThematicArea", blank=True, related_name="+", verbose_name=_("thematic areas")
    )
    keywords = models.JSONField(_("keywords"), default=list, blank=True)
    working_languages = models.ManyToManyField(
        "kb.Language", blank=True, related_name="+", verbose_name=_("working languages")
    )
    # A member of the entry's organisation (for a State's need, a recipient focal point of that
    # State), shown to signed-in users only; cleared when the membership ends.
    contact_person = models.ForeignKey(
        "accounts.Membership",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("contact person"),
        help_text=_("A member of the organisation whom others can write to about this entry."),
    )

    status = models.CharField(
        _("status"),
        max_length=12,
        choices=EntryStatus.choices,
        default=EntryStatus.DRAFT,
        db_index=True,
    )
    moderation_reason = models.TextField(
        _("moderator's reason"),
        blank=True,
        help_text=_("Why the entry (or its pending changes) was last returned."),
    )
    pending_revision = models.JSONField(_("pending changes"), null=True, blank=True)
    revision_status = models.CharField(
        _("pending changes"),
        max_length=12,
        choices=RevisionStatus.choices,
        default=RevisionStatus.NONE,
        blank=True,
        db_index=True,
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True, db_index=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True, db_index=True)
    row_version = models.PositiveBigIntegerField(_("row version"), default=1, editable=False)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=models.Q(external_id__isnull=False),
                name="%(app_label)s_%(class)s_external_id_unique",
            ),
            models.CheckConstraint(
                condition=~(models.Q(revision_status="") & models.Q(pending_revision__isnull=False)),
                name="%(app_label)s_%(class)s_revision_has_status",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def moderation_state(self) -> ModerationState:
        if self.status == EntryStatus.PUBLISHED and self.revision_status == RevisionStatus.SUBMITTED:
            return ModerationState.PUBLISHED_CHANGES_SUBMITTED
        if self.status == EntryStatus.PUBLISHED and self.revision_status == RevisionStatus.RETURNED:
            return ModerationState.PUBLISHED_CHANGES_RETURNED
        return ModerationState(self.status)

    def get_moderation_state_display(self) -> str:
        """The moderation state in the reader's language (the status badge of every entry)."""
        return str(self.moderation_state.label)

    @property
    def is_returned(self) -> bool:
        """Returned by a moderator (the entry, or its pending changes): the reason is for the authors."""
        return self.status == EntryStatus.RETURNED or self.revision_status == RevisionStatus.RETURNED

    @property
    def is_deletable(self) -> bool:
        return self.published_at is None and self.status in (EntryStatus.DRAFT, EntryStatus.RETURNED)

    @property
    def awaits_moderation(self) -> bool:
        return self.status == EntryStatus.SUBMITTED or self.revision_status == RevisionStatus.SUBMITTED


class CostArrangement(models.TextChoices):
    PROVIDER_FUNDED = "provider_funded", _("Provider-funded")
    COST_SHARING = "cost_sharing", _("Cost-sharing")
    EXTERNAL_FUNDING = "external_funding", _("Needs external funding")


class ExpertiseOffer(KnowledgeEntry):
    """Expertise a provider organisation can share."""

    kind = "offer"  # not a field: names the kind in URLs, templates and the search index

    organisation = models.ForeignKey(
        "kb.Organisation",
        on_delete=models.PROTECT,
        related_name="offers",
        verbose_name=_("provider organisation"),
    )
    modalities = models.ManyToManyField("kb.Modality", blank=True, related_name="+", verbose_name=_("modalities"))
    regions_served: models.ManyToManyField[Region, Any] = models.ManyToManyField(
        "kb.Region",
        blank=True,
        related_name="+",
        verbose_name=_("regions served"),
        help_text=_("Leave empty to serve every region."),
    )
    capacity = models.PositiveSmallIntegerField(
        _("capacity (engagements per year)"), default=1, validators=[MaxValueValidator(1000)]
    )
    cost_arrangement = models.CharField(
        _("cost arrangement"),
        max_length=20,
        choices=CostArrangement.choices,
        default=CostArrangement.PROVIDER_FUNDED,
    )
    contact_name = models.CharField(_("contact name"), max_length=200, blank=True)
    contact_email = models.EmailField(_("contact e-mail"), blank=True)

    class Meta(KnowledgeEntry.Meta):
        verbose_name = _("expertise offer")
        verbose_name_plural = _("expertise offers")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "-updated_at"], name="kb_offer_status_upd")]


class Priority(models.TextChoices):
    HIGH = "high", _("High")
    MEDIUM = "medium", _("Medium")
    LOW = "low", _("Low")


class SouthSouthPreference(models.TextChoices):
    REQUIRE = "require", _("Require South-South")
    PREFER = "prefer", _("Prefer South-South")
    NONE = "none", _("No preference")


class AssistanceNeed(KnowledgeEntry):
    """Technical assistance a recipient State needs."""

    kind = "need"

    country = models.ForeignKey(
        "kb.Country",
        on_delete=models.PROTECT,
        related_name="needs",
        verbose_name=_("recipient State"),
    )
    organisation = models.ForeignKey(
        "kb.Organisation",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="needs",
        verbose_name=_("recipient organisation"),
        help_text=_("Empty when the need is the State's as a whole."),
    )
    priority = models.CharField(_("priority"), max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    south_south = models.CharField(
        _("South-South preference"),
        max_length=10,
        choices=SouthSouthPreference.choices,
        default=SouthSouthPreference.NONE,
    )
    providers_wanted = models.PositiveSmallIntegerField(
        _("providers wanted"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(10)],
    )
    timeframe_start = models.DateField(_("desired start"), null=True, blank=True)
    timeframe_end = models.DateField(_("desired end"), null=True, blank=True)
    source_reference = models.CharField(
        _("source reference"),
        max_length=300,
        blank=True,
        help_text=_("E.g. the country review executive summary the need comes from."),
    )

    class Meta(KnowledgeEntry.Meta):
        verbose_name = _("assistance need")
        verbose_name_plural = _("assistance needs")
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["status", "-updated_at"], name="kb_need_status_upd")]
        constraints = [
            *KnowledgeEntry.Meta.constraints,
            models.CheckConstraint(
                condition=models.Q(timeframe_start__isnull=True)
                | models.Q(timeframe_end__isnull=True)
                | models.Q(timeframe_end__gte=models.F("timeframe_start")),
                name="kb_need_timeframe_ordered",
                violation_error_message=_("The desired end cannot be before the desired start."),
            ),
        ]


class EntryAction(models.TextChoices):
    CREATED = "created", _("Created")
    EDITED = "edited", _("Edited")
    IMPORTED = "imported", _("Imported")
    SUBMITTED = "submit", _("Submitted")
    WITHDRAWN = "withdraw", _("Withdrawn")
    PUBLISHED = "publish", _("Published")
    RETURNED = "return", _("Returned")
    UNPUBLISHED = "unpublish", _("Unpublished")
    ARCHIVED = "archive", _("Archived")
    RESTORED = "restore", _("Restored to draft")
    CHANGES_PROPOSED = "propose_changes", _("Changes proposed")
    DELETED = "deleted", _("Deleted")
    ATTACHED = "attach", _("Document attached")
    DETACHED = "detach", _("Document removed")


class EntryKind(models.TextChoices):
    OFFER = "offer", _("Offer")
    NEED = "need", _("Need")


#: The model of each kind of entry, by ``EntryKind`` (``KnowledgeEntry`` is abstract: it has no
#: manager of its own, so code that works on either kind goes through this).
EntryModel: TypeAlias = type[ExpertiseOffer] | type[AssistanceNeed]
ENTRY_MODELS: dict[str, EntryModel] = {EntryKind.OFFER: ExpertiseOffer, EntryKind.NEED: AssistanceNeed}


class EntryEvent(models.Model):
    """Audit trail of an entry: every write and every moderation transition.

    ``entry_kind``/``entry_id`` survive the deletion of a draft; the foreign keys (set to null
    then) serve the admin's history inlines.
    """

    entry_kind = models.CharField(_("kind"), max_length=5, choices=EntryKind.choices)
    entry_id = models.PositiveBigIntegerField(_("entry id"))
    entry_title = models.CharField(_("title"), max_length=200)
    offer = models.ForeignKey(
        ExpertiseOffer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("offer"),
    )
    need = models.ForeignKey(
        AssistanceNeed,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="events",
        verbose_name=_("need"),
    )
    action = models.CharField(_("action"), max_length=20, choices=EntryAction.choices)
    from_status = models.CharField(_("from"), max_length=40, blank=True)
    to_status = models.CharField(_("to"), max_length=40, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("entry event")
        verbose_name_plural = _("entry events")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["entry_kind", "entry_id"], name="kb_event_entry")]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.from_status}->{self.to_status}"
