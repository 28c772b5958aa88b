from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.api.serializers import RejectUnknownFieldsMixin
from kb.apis.filters import MAX_ID
from matching.models import (
    MAX_MESSAGE_LENGTH,
    MAX_MISSION_LABEL_LENGTH,
    MAX_MISSIONS,
    MAX_OUTCOME_NOTE_LENGTH,
    Engagement,
    EngagementMessage,
    EngagementMission,
    EngagementRating,
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    Notification,
    OutcomeResult,
)
from matching.reasons import render_reasons
from matching.selectors import offer_capacity_left
from matching.services.attachments import ENGAGEMENT_ATTACHMENT_KINDS
from matching.services.engagements import allowed_engagement_actions
from matching.services.notifications import notification_path, render_notification


class MatchRunSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True)
    coverage = serializers.FloatField(read_only=True)
    south_south_share = serializers.FloatField(read_only=True)

    class Meta:
        model = MatchRun
        fields = [
            "id", "scope", "trigger", "status", "created_at", "started_at", "finished_at", "needs_total",
            "needs_done", "progress", "candidates_count", "assigned_count", "needs_covered", "coverage",
            "south_south_assigned", "south_south_share", "definition", "weights", "timings", "search_backend", "error",
        ]  # fmt: skip
        read_only_fields = fields


class OfferBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name")
    country = serializers.CharField(source="organisation.country.iso3", default=None)
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, offer) -> str:
        request = self.context.get("request")
        path = reverse("kb-api:offer-detail", kwargs={"pk": offer.pk})
        return request.build_absolute_uri(path) if request else path


class NeedBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    country = serializers.CharField(source="country.iso3")
    url = serializers.SerializerMethodField()

    @extend_schema_field(serializers.URLField())
    def get_url(self, need) -> str:
        request = self.context.get("request")
        path = reverse("kb-api:need-detail", kwargs={"pk": need.pk})
        return request.build_absolute_uri(path) if request else path


class CandidateSerializer(serializers.ModelSerializer):
    offer = OfferBriefSerializer(read_only=True)
    reasons = serializers.SerializerMethodField(help_text="Written reasons, in the request's language.")
    reason_codes = serializers.JSONField(source="reasons", read_only=True)

    class Meta:
        model = MatchCandidate
        fields = ["rank", "score", "assigned", "south_south", "components", "reasons", "reason_codes", "offer", "run"]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_reasons(self, candidate) -> list[str]:
        return render_reasons(candidate.reasons)


class NeedOutcomeSerializer(serializers.ModelSerializer):
    reason_text = serializers.CharField(source="get_reason_display", read_only=True)

    class Meta:
        model = NeedOutcome
        fields = ["run", "providers_wanted", "providers_assigned", "reason", "reason_text"]
        read_only_fields = fields


class RatingSerializer(serializers.ModelSerializer):
    class Meta:
        model = EngagementRating
        fields = ["side", "score", "comment", "created_at"]
        read_only_fields = fields


class EngagementNeedSerializer(NeedBriefSerializer):
    """The engagement's need as published when the engagement began (``source="*"``)."""

    id = serializers.IntegerField(source="need_id")
    title = serializers.CharField(source="need_title")
    country = serializers.CharField(source="need.country.iso3")

    def get_url(self, engagement) -> str:
        return super().get_url(engagement.need)


class EngagementOfferSerializer(OfferBriefSerializer):
    id = serializers.IntegerField(source="offer_id")
    title = serializers.CharField(source="offer_title")
    organisation = serializers.CharField(source="offer.organisation.name")
    country = serializers.CharField(source="offer.organisation.country.iso3", default=None, allow_null=True)

    def get_url(self, engagement) -> str:
        return super().get_url(engagement.offer)


class MissionSerializer(serializers.ModelSerializer):
    class Meta:
        model = EngagementMission
        fields = ["date", "label"]
        read_only_fields = fields


class EngagementSerializer(serializers.ModelSerializer):
    missions = MissionSerializer(many=True, read_only=True)
    need = EngagementNeedSerializer(source="*", read_only=True)
    offer = EngagementOfferSerializer(source="*", read_only=True)
    reasons = serializers.SerializerMethodField()
    allowed_actions = serializers.SerializerMethodField()
    offer_capacity_left = serializers.SerializerMethodField()
    ratings = RatingSerializer(many=True, read_only=True)

    class Meta:
        model = Engagement
        fields = [
            "id", "state", "need", "offer", "score", "south_south", "reasons", "allowed_actions",
            "offer_capacity_left", "last_reason", "superseded_reason", "replaced_by", "ratings", "created_at", "updated_at", "accepted_at", "completed_at",
            "start_date", "end_date", "missions", "outcome_result", "outcome_note", "outcome_recorded_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_reasons(self, engagement) -> list[str]:
        return render_reasons(engagement.candidate.reasons) if engagement.candidate else []

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_allowed_actions(self, engagement) -> list[str]:
        request = self.context.get("request")
        return allowed_engagement_actions(request.user, engagement) if request else []

    def get_offer_capacity_left(self, engagement) -> int:
        return offer_capacity_left(engagement.offer)


def _id(**kwargs) -> serializers.IntegerField:
    return serializers.IntegerField(min_value=1, max_value=MAX_ID, **kwargs)


class InterestInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    need = _id()
    offer = _id()


class OfferHelpInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    offer = _id()


class EngagementActionInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class RatingInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    score = serializers.IntegerField(min_value=1, max_value=5)
    comment = serializers.CharField(required=False, allow_blank=True, max_length=5000)


class NotificationSerializer(serializers.ModelSerializer):
    title = serializers.SerializerMethodField()
    text = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField(help_text="Path of the web page the notification is about, or empty.")

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "text", "url", "engagement", "created_at", "read_at"]
        read_only_fields = fields

    def get_title(self, notification) -> str:
        return render_notification(notification)[0]

    def get_text(self, notification) -> str:
        return render_notification(notification)[1]

    def get_url(self, notification) -> str:
        return notification_path(notification)


class MarkReadInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    ids = serializers.ListField(child=_id(), required=False, max_length=1000, help_text="Omit to mark all read.")


class EngagementMessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField(help_text="The author's name (or e-mail address), or empty.")

    class Meta:
        model = EngagementMessage
        fields = ["id", "side", "author", "body", "created_at"]
        read_only_fields = fields

    def get_author(self, message) -> str:
        return str(message.author) if message.author else ""


class MessageInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    body = serializers.CharField(max_length=MAX_MESSAGE_LENGTH, help_text="The message (plain text).")


class MissionInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    date = serializers.DateField(help_text="yyyy-mm-dd")
    # The stubs see ``Field.label`` here; DRF's metaclass moves declared fields into ``_declared_fields``.
    label = serializers.CharField(max_length=MAX_MISSION_LABEL_LENGTH)  # type: ignore[assignment]


class DatesInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    start_date = serializers.DateField(allow_null=True, help_text="yyyy-mm-dd, or null")
    end_date = serializers.DateField(allow_null=True, help_text="yyyy-mm-dd, or null; not before the start")
    # ``many=True`` builds a ListSerializer, which takes ``max_length``; the stubs type the child's call.
    missions = MissionInputSerializer(many=True, required=False, max_length=MAX_MISSIONS)  # type: ignore[call-arg]

    def validate(self, attrs):
        start, end = attrs.get("start_date"), attrs.get("end_date")
        if start and end and end < start:
            raise serializers.ValidationError({"end_date": _("End date: it is before the start date.")})
        return attrs


class OutcomeInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    result = serializers.ChoiceField(choices=OutcomeResult.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=MAX_OUTCOME_NOTE_LENGTH)


class EngagementAttachmentInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    file = serializers.FileField(help_text="PDF, Office or OpenDocument file, plain text or image; at most 10 MB.")
    kind = serializers.ChoiceField(
        choices=[(k.value, k.label) for k in ENGAGEMENT_ATTACHMENT_KINDS], help_text="Kind of document."
    )
