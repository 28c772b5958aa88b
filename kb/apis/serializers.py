"""Serializers of the knowledge-base API.

Output serializers name their fields explicitly. Input serializers accept only the editable content
fields and reject anything else (ownership, status, timestamps...) with an error naming the field
(``core.api.serializers``).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import SkipField, empty

from core.api.serializers import RejectUnknownFieldsMixin, reject_unknown_fields
from core.attachments import AttachmentKind
from kb.content import (
    DATE_INVALID,
    NEED_SPEC,
    OFFER_SPEC,
    EntryContent,
    EntrySpec,
    entry_content,
    required_errors,
)
from kb.models import (
    AssistanceNeed,
    Country,
    EntryEvent,
    ExpertiseOffer,
    KnowledgeEntry,
    Language,
    Modality,
    Organisation,
    Region,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
)
from kb.selectors import entry_can_manage, entry_contact_for_user, user_scope
from kb.services.moderation import allowed_actions

# --- reference data ------------------------------------------------------------------------------


class RegionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    name_en = serializers.CharField(source="name", read_only=True)
    # The stubs see ``Field.parent`` here; DRF's metaclass moves declared fields into ``_declared_fields``.
    parent = serializers.CharField(  # type: ignore[assignment]
        source="parent.m49_code", default=None, read_only=True, allow_null=True
    )

    class Meta:
        model = Region
        fields = ["m49_code", "name", "name_en", "kind", "parent"]


class CountrySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    name_en = serializers.CharField(source="name", read_only=True)
    region = serializers.CharField(source="region.name", read_only=True)
    subregion = serializers.CharField(source="subregion.name", read_only=True)

    class Meta:
        model = Country
        fields = [
            "iso3", "iso2", "name", "name_en", "region", "subregion", "regional_group",
            "g77", "m49_developing", "ldc", "sids", "un_member",
        ]  # fmt: skip


class LanguageSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = Language
        fields = ["code", "name", "is_un_language"]


class UncacChapterSerializer(serializers.ModelSerializer):
    class Meta:
        model = UncacChapter
        fields = ["number", "roman", "title", "first_article", "last_article"]


class UncacArticleSerializer(serializers.ModelSerializer):
    class Meta:
        model = UncacArticle
        fields = ["number", "chapter", "title"]


class TATypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = TAType
        fields = ["code", "label", "description"]


class ThematicAreaSerializer(serializers.ModelSerializer):
    articles: serializers.SlugRelatedField[UncacArticle] = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True
    )

    class Meta:
        model = ThematicArea
        fields = ["code", "label", "description", "articles"]


class ModalitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Modality
        fields = ["code", "label"]


class OrganisationSerializer(serializers.ModelSerializer):
    country = serializers.SlugRelatedField(
        slug_field="iso3", queryset=Country.objects.all(), allow_null=True, required=False
    )
    is_international = serializers.BooleanField(read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "acronym", "country", "kind", "website", "is_international"]
        read_only_fields = ["id"]


class OrganisationBriefSerializer(serializers.ModelSerializer):
    country = serializers.CharField(source="country.iso3", default=None, read_only=True)

    class Meta:
        model = Organisation
        fields = ["id", "name", "country"]


# --- entries -------------------------------------------------------------------------------------


def _codes(**kwargs) -> serializers.ListField:
    return serializers.ListField(child=serializers.CharField(allow_blank=True), **kwargs)


class _Unchecked:
    """A limit that is documented (drf-spectacular reads it into the schema) but not checked here."""

    def __call__(self, value: Any) -> None:
        return None


class _UncheckedMaxLength(_Unchecked, MaxLengthValidator):
    pass


class _UncheckedMinValue(_Unchecked, MinValueValidator):
    pass


class _UncheckedMaxValue(_Unchecked, MaxValueValidator):
    pass


_UNCHECKED = {
    MaxLengthValidator: _UncheckedMaxLength,
    MinValueValidator: _UncheckedMinValue,
    MaxValueValidator: _UncheckedMaxValue,
}


class _Documented(serializers.Field):
    """A field whose limits are in the schema but checked by ``kb.content`` against the model,
    with the same message on every path (the web form and the import too). A subclass rather
    than a changed instance: DRF copies declared fields by creating them again."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.validators = [self._unchecked(v) for v in self.validators]

    @staticmethod
    def _unchecked(validator: Any) -> Any:
        kind = _UNCHECKED.get(type(validator))
        return kind(validator.limit_value) if kind is not None else validator


class _ContentCharField(_Documented, serializers.CharField):
    pass


class _ContentIntegerField(_Documented, serializers.IntegerField):
    pass


class _RequiredContentCharField(_ContentCharField):
    """A required field of the content (``EntrySpec.required``), documented as required and not
    blank; left out, null or blank it is passed on, for ``kb.content``'s rule and message
    (``EntryInputSerializer.to_internal_value``), the form's and the import's."""

    def validate_empty_values(self, data: Any) -> tuple[bool, Any]:
        if data is empty:
            raise SkipField  # not in the content: refused there unless the update is partial
        if data is None:
            return (True, None)
        return super().validate_empty_values(data)

    def run_validation(self, data: Any = empty) -> Any:
        if isinstance(data, str) and not data.strip():
            return data  # blank: refused by kb.content, not as DRF's "may not be blank"
        return super().run_validation(data)


def _given(**limits: int | None) -> dict[str, Any]:
    return {name: value for name, value in limits.items() if value is not None}


def _text(spec: EntrySpec, name: str, **kwargs: Any) -> serializers.CharField:
    kind = _RequiredContentCharField if name in spec.required else _ContentCharField
    return kind(**_given(max_length=spec.max_length(name)), **kwargs)


def _number(spec: EntrySpec, name: str, **kwargs: Any) -> serializers.IntegerField:
    low, high = spec.limits(name)
    return _ContentIntegerField(**_given(min_value=low, max_value=high), **kwargs)


class _ContentChoiceField(serializers.ChoiceField):
    """The model's choices, documented; the value itself is checked by ``kb.content``."""

    def to_internal_value(self, data: Any) -> Any:
        return data


def _choice(spec: EntrySpec, name: str, **kwargs: Any) -> serializers.ChoiceField:
    return _ContentChoiceField(choices=spec.choices(name), **kwargs)


def _date(**kwargs: Any) -> serializers.DateField:
    return serializers.DateField(error_messages={"invalid": DATE_INVALID}, **kwargs)


class EntryInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The shape of an entry's content in JSON; its rules are ``kb.content``'s (``to_content``)."""

    spec = NEED_SPEC  # the fields both kinds share read the same limits from either model

    title = _text(NEED_SPEC, "title", allow_blank=True)
    description = _text(NEED_SPEC, "description", allow_blank=True)
    language = _text(NEED_SPEC, "language", help_text="ISO 639-1 code of the text.")
    articles = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="UNCAC article numbers."
    )
    ta_types = _codes(required=False)
    thematic_areas = _codes(required=False)
    keywords = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False)
    working_languages = _codes(required=False, help_text="ISO 639-1 codes; defaults to the text's language.")
    contact_person = serializers.EmailField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=(
            "E-mail address of the contact person: an active member of the entry's organisation (for a "
            "need of a State as a whole, a recipient focal point of that State); empty or null for none."
        ),
    )

    def to_internal_value(self, data: Any) -> Any:
        """The fields' own checks, and with them ``kb.content``'s required fields (left out, unless
        the update is partial, or blank), so that a blank title is reported with every other
        mistake at once, as the form does. Keys that cannot be set are refused first, alone."""
        reject_unknown_fields(self, data)
        missing = required_errors(self.spec, data, whole=not self.partial) if hasattr(data, "keys") else {}
        try:
            validated = super().to_internal_value(data)
        except serializers.ValidationError as exc:
            if missing and isinstance(exc.detail, dict):
                raise serializers.ValidationError({**exc.detail, **missing}) from exc
            raise
        if missing:
            raise serializers.ValidationError(missing)
        return validated

    def to_content(self) -> EntryContent:
        """The validated input as the entry's content (ownership, given when creating, is not content)."""
        data = {name: value for name, value in self.validated_data.items() if name != "organisation"}
        return entry_content(self.spec, data, whole=not self.partial)


class OfferInputSerializer(EntryInputSerializer):
    spec = OFFER_SPEC

    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), help_text="Provider organisation (only when creating)."
    )
    modalities = _codes(required=False)
    regions_served = _codes(required=False, help_text="M49 codes of regions or sub-regions; empty = all.")
    capacity = _number(OFFER_SPEC, "capacity", required=False)
    cost_arrangement = _choice(OFFER_SPEC, "cost_arrangement", required=False)
    contact_name = _text(OFFER_SPEC, "contact_name", required=False, allow_blank=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)


class NeedInputSerializer(EntryInputSerializer):
    spec = NEED_SPEC

    organisation = serializers.PrimaryKeyRelatedField(
        queryset=Organisation.objects.all(), help_text="Recipient organisation (only when creating)."
    )
    priority = _choice(NEED_SPEC, "priority", required=False)
    south_south = _choice(NEED_SPEC, "south_south", required=False)
    providers_wanted = _number(NEED_SPEC, "providers_wanted", required=False)
    timeframe_start = _date(required=False, allow_null=True)
    timeframe_end = _date(required=False, allow_null=True)
    source_reference = _text(NEED_SPEC, "source_reference", required=False, allow_blank=True)


class OfferUpdateSerializer(OfferInputSerializer):
    # Ownership is fixed at creation: ``None`` removes the inherited field (DRF's documented way,
    # which the stubs do not model).
    organisation = None  # type: ignore[assignment]


class NeedUpdateSerializer(NeedInputSerializer):
    organisation = None  # type: ignore[assignment]  # as for offers: fixed at creation


class TransitionInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(
        required=False, allow_blank=True, max_length=5000, help_text="Required to return or unpublish."
    )


class ContactPersonSerializer(serializers.Serializer):
    name = serializers.CharField(source="user.get_full_name", read_only=True)
    email = serializers.EmailField(source="user.email", read_only=True)
    organisation = serializers.CharField(source="organisation.name", read_only=True)


class AttachmentSerializer(serializers.Serializer):
    """An attached document; ``download`` is the only way to its bytes (signed-in readers of the
    entry or engagement; never a public URL)."""

    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True)
    name = serializers.CharField(read_only=True)
    content_type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)
    download = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_download(self, attachment) -> str:
        path = (
            self.context["download_path"](attachment)
            if "download_path" in self.context
            else self._entry_path(attachment)
        )
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def _entry_path(self, attachment) -> str:
        kind = self.context.get("kind") or ("offer" if attachment.offer_id else "need")
        entry_id = attachment.offer_id or attachment.need_id
        return reverse(f"kb-api:{kind}-attachment-detail", kwargs={"pk": entry_id, "attachment_id": attachment.pk})


class AttachmentInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(help_text="PDF, Office or OpenDocument file, plain text or image; at most 10 MB.")
    kind = serializers.ChoiceField(choices=AttachmentKind.choices, help_text="Kind of document.")


class EntryOutputSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    language = serializers.CharField(source="language_id", read_only=True)
    articles: serializers.SlugRelatedField[UncacArticle] = serializers.SlugRelatedField(
        slug_field="number", many=True, read_only=True
    )
    ta_types: serializers.SlugRelatedField[TAType] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    thematic_areas: serializers.SlugRelatedField[ThematicArea] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    working_languages: serializers.SlugRelatedField[Language] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    moderation_state = serializers.CharField(read_only=True)
    allowed_actions = serializers.SerializerMethodField()
    pending_changes = serializers.SerializerMethodField()
    moderation_reason = serializers.SerializerMethodField()
    is_mine = serializers.SerializerMethodField()
    contact_person = serializers.SerializerMethodField()
    attachments = serializers.SerializerMethodField()

    common_fields = [
        "id", "url", "external_id", "title", "description", "language", "articles", "ta_types",
        "thematic_areas", "keywords", "working_languages", "status", "moderation_state",
        "moderation_reason", "pending_changes", "allowed_actions", "is_mine", "created_at",
        "updated_at", "submitted_at", "published_at", "contact_person", "attachments",
    ]  # fmt: skip
    url_name = ""
    kind = ""

    @extend_schema_field(serializers.URLField())
    def get_url(self, entry: KnowledgeEntry) -> str:
        path = reverse(self.url_name, kwargs={"pk": entry.pk})
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path

    def _user(self):
        request = self.context.get("request")
        return request.user if request else None

    def _owner_or_moderator(self, entry: KnowledgeEntry) -> bool:
        user = self._user()
        if user is None or not user.is_authenticated:
            return False
        return user_scope(user).is_moderator or entry_can_manage(user=user, entry=entry)

    @extend_schema_field(ContactPersonSerializer(allow_null=True))
    def get_contact_person(self, entry: KnowledgeEntry) -> dict | None:
        """Signed-in readers only (the API has no other), and only while the person acts for it."""
        user = self._user()
        membership = entry_contact_for_user(user=user, entry=entry) if user is not None else None
        return ContactPersonSerializer(membership).data if membership else None

    @extend_schema_field(AttachmentSerializer(many=True))
    def get_attachments(self, entry: KnowledgeEntry) -> list[dict]:
        # ``attachments`` is prefetched by the list selectors (ordered as ``entry_attachments``).
        attachments = entry.attachments.all()  # type: ignore[attr-defined]  # the related name of each concrete entry model
        return list(AttachmentSerializer(attachments, many=True, context={**self.context, "kind": self.kind}).data)

    def get_is_mine(self, entry: KnowledgeEntry) -> bool:
        user = self._user()
        return bool(user and user.is_authenticated and entry_can_manage(user=user, entry=entry))

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, entry: KnowledgeEntry) -> list[str]:
        user = self._user()
        if user is None or not user.is_authenticated:
            return []
        return allowed_actions(
            entry,
            is_owner=entry_can_manage(user=user, entry=entry),
            is_moderator=user_scope(user).is_moderator,
        )

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_pending_changes(self, entry: KnowledgeEntry) -> dict | None:
        """Changes to a published entry awaiting review; only its owners and moderators see them."""
        return entry.pending_revision if self._owner_or_moderator(entry) else None

    @extend_schema_field(serializers.CharField())
    def get_moderation_reason(self, entry: KnowledgeEntry) -> str:
        return entry.moderation_reason if self._owner_or_moderator(entry) else ""


class OfferSerializer(EntryOutputSerializer):
    organisation = OrganisationBriefSerializer(read_only=True)
    country = serializers.CharField(source="organisation.country.iso3", default=None, read_only=True)
    modalities: serializers.SlugRelatedField[Modality] = serializers.SlugRelatedField(
        slug_field="code", many=True, read_only=True
    )
    regions_served: serializers.SlugRelatedField[Region] = serializers.SlugRelatedField(
        slug_field="m49_code", many=True, read_only=True
    )
    url_name = "kb-api:offer-detail"
    kind = "offer"

    class Meta:
        model = ExpertiseOffer
        fields = [
            *EntryOutputSerializer.common_fields,
            "organisation", "country", "modalities", "regions_served", "capacity",
            "cost_arrangement", "contact_name", "contact_email",
        ]  # fmt: skip
        read_only_fields = fields


class NeedSerializer(EntryOutputSerializer):
    organisation = OrganisationBriefSerializer(read_only=True, allow_null=True)
    country = serializers.CharField(source="country.iso3", read_only=True)
    url_name = "kb-api:need-detail"
    kind = "need"

    class Meta:
        model = AssistanceNeed
        fields = [
            *EntryOutputSerializer.common_fields,
            "organisation", "country", "priority", "south_south", "providers_wanted",
            "timeframe_start", "timeframe_end", "source_reference",
        ]  # fmt: skip
        read_only_fields = fields


class EntryEventSerializer(serializers.ModelSerializer):
    """One history event. Without ``full`` in the context (a reader who is neither a focal point
    of the entry nor a moderator), actor and reason are never shown."""

    actor = serializers.SerializerMethodField()
    reason = serializers.SerializerMethodField()

    class Meta:
        model = EntryEvent
        fields = ["action", "from_status", "to_status", "actor", "reason", "created_at"]
        read_only_fields = fields

    @extend_schema_field(serializers.EmailField(allow_null=True))
    def get_actor(self, event: EntryEvent) -> str | None:
        return event.actor.email if self.context.get("full") and event.actor else None

    @extend_schema_field(serializers.CharField())
    def get_reason(self, event: EntryEvent) -> str:
        return event.reason if self.context.get("full") else ""


# --- import --------------------------------------------------------------------------------------


class ImportInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(help_text="JSON Lines file in the interchange format.")
    dry_run = serializers.BooleanField(default=False)
    publish = serializers.BooleanField(default=False)


class ImportReportSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    dry_run = serializers.BooleanField()
