"""Matching endpoints: runs (moderators start and cancel), a need's candidates and outcome,
engagements and their actions, ratings, notifications."""

from __future__ import annotations

import django_filters
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from core.api.attachments import attachment_detail_action, attachment_or_404, attachments_action
from core.api.errors import CONFLICT_RESPONSE
from core.api.permissions import IsModerator
from core.attachments import attachment_response
from kb.apis.filters import IdFilter
from kb.apis.serializers import AttachmentSerializer
from kb.selectors import need_list_for_user, offer_list_for_user
from matching.apis.serializers import (
    CandidateSerializer,
    DatesInputSerializer,
    EngagementActionInputSerializer,
    EngagementAttachmentInputSerializer,
    EngagementMessageSerializer,
    EngagementSerializer,
    InterestInputSerializer,
    MarkReadInputSerializer,
    MatchRunSerializer,
    MessageInputSerializer,
    NeedOutcomeSerializer,
    NotificationSerializer,
    OfferHelpInputSerializer,
    OutcomeInputSerializer,
    RatingInputSerializer,
    RatingSerializer,
)
from matching.models import Engagement, EngagementState, RunTrigger
from matching.selectors import (
    engagement_attachments,
    engagement_list_for_user,
    engagement_messages,
    need_candidates_for_user,
    need_outcome,
    run_list,
)
from matching.services.attachments import engagement_attachment_add, engagement_attachment_delete
from matching.services.collaboration import engagement_dates_set, engagement_message_post, engagement_outcome_record
from matching.services.engagements import (
    EngagementAction,
    engagement_express_interest,
    engagement_offer_help,
    engagement_rate,
    engagement_transition,
)
from matching.services.notifications import notifications_for_user, notifications_mark_read
from matching.services.runs import match_run_cancel, match_run_start


class MatchRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Runs: everyone signed in follows progress and history; moderators start and cancel."""

    serializer_class = MatchRunSerializer
    filterset_fields = ["scope", "status"]

    def get_queryset(self):
        return run_list()

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsAuthenticated()]
        return [IsAuthenticated(), IsModerator()]

    @extend_schema(
        summary="Start a full matching run (moderators).",
        request=None,
        responses={201: MatchRunSerializer, 409: CONFLICT_RESPONSE},
    )
    def create(self, request: Request) -> Response:
        run = match_run_start(trigger=RunTrigger.API, requested_by=request_user(request))
        run.refresh_from_db()
        return Response(MatchRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Cancel a queued or running run (moderators).",
        request=None,
        responses={200: MatchRunSerializer, 409: CONFLICT_RESPONSE},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        run = match_run_cancel(run=self.get_object())
        return Response(MatchRunSerializer(run).data)


class NeedCandidatesView(APIView):
    @extend_schema(
        summary="A need's current candidates, ranked, with written reasons (its focal points and moderators).",
        responses=CandidateSerializer(many=True),
    )
    def get(self, request: Request, pk: int) -> Response:
        need = get_object_or_404(need_list_for_user(user=request_user(request)), pk=pk)
        candidates = need_candidates_for_user(user=request_user(request), need=need)
        outcome = need_outcome(need=need)
        return Response(
            {
                "results": CandidateSerializer(candidates, many=True, context={"request": request}).data,
                "outcome": NeedOutcomeSerializer(outcome).data if outcome else None,
            }
        )


class NeedOfferHelpView(APIView):
    @extend_schema(
        summary="Offer help on a published need with one of your organisation's published offers (its "
        "provider focal points): opens an engagement in `offered`, or answers the pair's open proposal.",
        request=OfferHelpInputSerializer,
        responses={201: EngagementSerializer},
    )
    def post(self, request: Request, pk: int) -> Response:
        data = OfferHelpInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        need = get_object_or_404(need_list_for_user(user=request_user(request)), pk=pk)
        offer = get_object_or_404(offer_list_for_user(user=request_user(request)), pk=data.validated_data["offer"])
        engagement = engagement_offer_help(actor=request_user(request), need=need, offer=offer)
        engagement = engagement_list_for_user(user=request_user(request)).get(pk=engagement.pk)
        return Response(
            EngagementSerializer(engagement, context={"request": request}).data, status=status.HTTP_201_CREATED
        )


class EngagementFilterSet(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=EngagementState.choices)
    need = IdFilter(field_name="need_id")
    offer = IdFilter(field_name="offer_id")

    class Meta:
        model = Engagement
        fields: list[str] = []


class EngagementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = EngagementSerializer
    filterset_class = EngagementFilterSet

    def get_queryset(self):
        return engagement_list_for_user(user=request_user(self.request))

    @extend_schema(
        summary="Express interest in a candidate (the need's focal points): opens or advances the engagement.",
        request=InterestInputSerializer,
        responses={201: EngagementSerializer},
    )
    def create(self, request: Request) -> Response:
        data = InterestInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        need = get_object_or_404(need_list_for_user(user=request_user(request)), pk=data.validated_data["need"])
        offer = get_object_or_404(offer_list_for_user(user=request_user(request)), pk=data.validated_data["offer"])
        engagement = engagement_express_interest(actor=request_user(request), need=need, offer=offer)
        engagement = self.get_queryset().get(pk=engagement.pk)
        return Response(
            EngagementSerializer(engagement, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    def _act(self, request: Request, name: str) -> Response:
        data = EngagementActionInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        engagement = engagement_transition(
            actor=request_user(request),
            engagement=self.get_object(),
            action=name,
            reason=data.validated_data.get("reason", ""),
        )
        return self._fresh(request, engagement)

    def _fresh(self, request: Request, engagement: Engagement) -> Response:
        """The engagement as the caller reads it after a change (read again through the scoped
        queryset, with what the change touched)."""
        engagement = self.get_queryset().get(pk=engagement.pk)
        return Response(EngagementSerializer(engagement, context={"request": request}).data)

    @extend_schema(
        summary="Rate a completed engagement 1–5 (each side once).",
        request=RatingInputSerializer,
        responses={201: RatingSerializer},
    )
    @action(detail=True, methods=["post"])
    def rate(self, request: Request, pk=None) -> Response:
        data = RatingInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rating = engagement_rate(
            actor=request_user(request),
            engagement=self.get_object(),
            score=data.validated_data["score"],
            comment=data.validated_data.get("comment", ""),
        )
        return Response(RatingSerializer(rating).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="The engagement's message thread, oldest first (its two sides' focal points and moderators).",
        responses=EngagementMessageSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary="Write in the engagement's thread; the other side is notified (in the app and by e-mail).",
        request=MessageInputSerializer,
        responses={201: EngagementMessageSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def messages(self, request: Request, pk=None) -> Response:
        engagement = self.get_object()
        if request.method == "POST":
            data = MessageInputSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            message = engagement_message_post(
                author=request_user(request), engagement=engagement, body=data.validated_data["body"]
            )
            return Response(EngagementMessageSerializer(message).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(engagement_messages(user=request_user(request), engagement=engagement))
        return self.get_paginated_response(EngagementMessageSerializer(page, many=True).data)

    @extend_schema(
        summary="Set the agreed start, end and missions (either side, once the provider has accepted); "
        "the missions listed replace the earlier ones.",
        request=DatesInputSerializer,
        responses={200: EngagementSerializer},
    )
    @action(detail=True, methods=["put"])
    def dates(self, request: Request, pk=None) -> Response:
        data = DatesInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        engagement = engagement_dates_set(
            actor=request_user(request),
            engagement=self.get_object(),
            start_date=data.validated_data["start_date"],
            end_date=data.validated_data["end_date"],
            missions=data.validated_data.get("missions", []),
        )
        return self._fresh(request, engagement)

    @extend_schema(
        summary="Record what a completed engagement delivered (either side; a later recording corrects it).",
        request=OutcomeInputSerializer,
        responses={200: EngagementSerializer},
    )
    @action(detail=True, methods=["post"])
    def outcome(self, request: Request, pk=None) -> Response:
        data = OutcomeInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        engagement = engagement_outcome_record(
            actor=request_user(request),
            engagement=self.get_object(),
            result=data.validated_data["result"],
            note=data.validated_data.get("note", ""),
        )
        return self._fresh(request, engagement)

    def _attachment_context(self, request: Request) -> dict:
        def download_path(attachment) -> str:
            return reverse(
                "matching-api:engagement-attachment-detail",
                kwargs={"pk": attachment.engagement_id, "attachment_id": attachment.pk},
            )

        return {"request": request, "download_path": download_path}

    @extend_schema(
        methods=["GET"],
        summary="The documents shared on the engagement (both sides' focal points, moderators).",
        responses=AttachmentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary=(
            "Attach a document, e.g. a mission report (multipart: file and kind; both sides' focal points). "
            "PDF, Office or OpenDocument files, plain text or images, recognised by their content; at most "
            "ATTACHMENT_MAX_SIZE."
        ),
        request={"multipart/form-data": EngagementAttachmentInputSerializer},
        responses={201: AttachmentSerializer},
    )
    @attachments_action()
    def attachments(self, request: Request, pk=None, format=None) -> Response:
        engagement = self.get_object()
        context = self._attachment_context(request)
        if request.method == "GET":
            return Response(
                AttachmentSerializer(engagement_attachments(engagement=engagement), many=True, context=context).data
            )
        data = EngagementAttachmentInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        attachment = engagement_attachment_add(
            actor=request_user(request),
            engagement=engagement,
            upload=data.validated_data["file"],
            kind=data.validated_data["kind"],
        )
        return Response(AttachmentSerializer(attachment, context=context).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        summary="Download a document of the engagement (as an attachment, never displayed inline).",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @extend_schema(methods=["DELETE"], summary="Remove a document (both sides' focal points).", responses={204: None})
    @attachment_detail_action()
    def attachment_detail(self, request: Request, pk=None, attachment_id=None, format=None):
        engagement = self.get_object()  # scoped to the caller: another State's engagement is a 404
        attachment = attachment_or_404(engagement_attachments(engagement=engagement), attachment_id)
        attachment.engagement = engagement
        if request.method == "DELETE":
            engagement_attachment_delete(actor=request_user(request), attachment=attachment)
            return Response(status=status.HTTP_204_NO_CONTENT)
        return attachment_response(attachment)


def _engagement_action(name: str):
    def view(self, request: Request, pk=None) -> Response:
        return self._act(request, name)

    view.__name__ = name
    return extend_schema(
        summary=f"{name.capitalize()} (see the engagement state machine).",
        request=EngagementActionInputSerializer,
        responses={200: EngagementSerializer, 409: CONFLICT_RESPONSE},
    )(action(detail=True, methods=["post"], url_path=name, url_name=name)(view))


for _name in EngagementAction:
    setattr(EngagementViewSet, _name.value, _engagement_action(_name.value))


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = NotificationSerializer
    filterset_fields = ["kind"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            from matching.models import Notification

            return Notification.objects.none()
        return notifications_for_user(user=request_user(self.request))

    @extend_schema(
        summary="Mark notifications read (all when no ids are given).",
        request=MarkReadInputSerializer,
        responses={200: None},
    )
    @action(detail=False, methods=["post"], url_path="mark-read")
    def mark_read(self, request: Request) -> Response:
        data = MarkReadInputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        count = notifications_mark_read(user=request_user(request), ids=data.validated_data.get("ids"))
        return Response({"marked": count})
