"""Offers and needs: CRUD, lifecycle actions (submit / withdraw / archive / restore) for their
focal points, moderation actions (publish / return / unpublish) for moderators, and history.

Every queryset is scoped to the caller (``kb.selectors``): another organisation's draft is a 404.
Writes go through ``kb.services``; views only parse input and serialise output.
"""

from __future__ import annotations

import functools

from django.db.models import Prefetch, QuerySet
from django.http import HttpResponseBase
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.relations import SlugRelatedField
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import request_user
from core.api.attachments import attachment_detail_action, attachment_or_404, attachments_action
from core.api.errors import CONFLICT_RESPONSE
from core.attachments import attachment_response
from kb.apis.conditional import conditional, detail_validators, list_validators
from kb.apis.filters import NeedFilterSet, OfferFilterSet
from kb.apis.serializers import (
    AttachmentInputSerializer,
    AttachmentSerializer,
    EntryEventSerializer,
    EntryInputSerializer,
    NeedInputSerializer,
    NeedSerializer,
    NeedUpdateSerializer,
    OfferInputSerializer,
    OfferSerializer,
    OfferUpdateSerializer,
    TransitionInputSerializer,
)
from kb.content import EntryContent
from kb.models import AssistanceNeed, EntryAttachment, Organisation
from kb.selectors import (
    entry_attachments,
    entry_history_for_user,
    need_list_for_user,
    offer_list_for_user,
)
from kb.services.attachments import entry_attachment_add, entry_attachment_delete
from kb.services.entries import entry_delete, entry_update, need_create, offer_create
from kb.services.moderation import Action, entry_transition

_TRANSITION_DOCS = {
    Action.SUBMIT: "Submit for moderation (the entry's focal points).",
    Action.WITHDRAW: "Withdraw a submission, or discard pending changes (the entry's focal points).",
    Action.ARCHIVE: "Archive a published entry (its focal points or a moderator).",
    Action.RESTORE: "Turn an archived entry back into a draft (its focal points).",
    Action.PUBLISH: "Publish a submitted entry, or approve submitted changes (moderators).",
    Action.RETURN: "Return a submission or submitted changes to the author, with a reason (moderators).",
    Action.UNPUBLISH: "Take a published entry down and return it to the author, with a reason (moderators).",
}


def _transition_action(name: Action, attribute: str | None = None):
    def view(self, request: Request, pk=None) -> Response:
        serializer = TransitionInputSerializer(data=request.data or {})
        serializer.is_valid(raise_exception=True)
        entry = entry_transition(
            actor=request_user(request),
            entry=self.get_object(),
            action=name.value,
            reason=serializer.validated_data.get("reason", ""),
        )
        return Response(self.output_serializer_class(self._reload(entry), context=self.get_serializer_context()).data)

    view.__name__ = attribute or name.value
    # extend_schema goes on top of @action, as drf-spectacular expects.
    return extend_schema(summary=_TRANSITION_DOCS[name], request=TransitionInputSerializer)(
        action(detail=True, methods=["post"], url_path=name.value, url_name=name.value)(view)
    )


@functools.cache
def _shown_slugs(serializer_class) -> tuple[tuple[str, str], ...]:
    """The related lists an output serializer shows as slugs: (field, slug field). Once per class:
    building a serializer's fields costs more than the queries it saves."""
    return tuple(
        (name, field.child_relation.slug_field)
        for name, field in serializer_class().fields.items()
        if isinstance(getattr(field, "child_relation", None), SlugRelatedField)
    )


class _EntryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    output_serializer_class: type[serializers.BaseSerializer] = OfferSerializer
    create_serializer_class: type[EntryInputSerializer] = OfferInputSerializer
    update_serializer_class: type[EntryInputSerializer] = OfferUpdateSerializer

    def get_serializer_class(self):
        return self.output_serializer_class

    def _for_reading(self, queryset: QuerySet) -> QuerySet:
        """List and detail read only what the output serializer shows: the related lists' slugs
        (not their names and recognition terms in six languages), no join for the content
        language (its code is the key) or the author (not shown). Writes keep the selector's
        full queryset: services may read more of the related rows."""
        if self.action not in ("list", "retrieve"):
            return queryset
        model = queryset.model
        prefetches = [
            Prefetch(name, queryset=model._meta.get_field(name).related_model.objects.only("pk", slug))
            for name, slug in _shown_slugs(self.output_serializer_class)  # type: ignore[arg-type]  # classes hash; the stubs' BaseSerializer.__hash__ is an instance method
        ]
        # The contact person and the documents are shown too (each entry's, in one query per list).
        joins = ["organisation__country", "contact_person__user"] + (["country"] if model is AssistanceNeed else [])
        return (
            queryset.select_related(None)
            .select_related(*joins)
            .prefetch_related(None)
            .prefetch_related(*prefetches, "attachments")
        )

    def list(self, request: Request, *args, **kwargs) -> HttpResponseBase:  # type: ignore[override]  # a 304 is not a DRF Response
        """The list with an ``ETag`` and ``Last-Modified``; ``If-None-Match`` naming the current
        ETag answers 304 with no body, after one aggregate query instead of the page's queries."""
        validators = list_validators(request, self.filter_queryset(self.get_queryset()))
        return conditional(request, validators, lambda: super(_EntryViewSet, self).list(request, *args, **kwargs))

    def retrieve(self, request: Request, *args, **kwargs) -> HttpResponseBase:  # type: ignore[override]  # a 304 is not a DRF Response
        """One entry, with an ``ETag``: ``If-None-Match`` naming it answers 304 after one query."""
        validators = detail_validators(request, self.get_queryset(), kwargs.get(self.lookup_field))
        return conditional(request, validators, lambda: super(_EntryViewSet, self).retrieve(request, *args, **kwargs))

    def _reload(self, entry):
        return get_object_or_404(self.get_queryset(), pk=entry.pk)

    def _create(self, request: Request, organisation: Organisation, content: EntryContent):
        raise NotImplementedError

    def create(self, request: Request) -> Response:
        serializer = self.create_serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        entry = self._create(request, serializer.validated_data["organisation"], serializer.to_content())
        output = self.output_serializer_class(self._reload(entry), context=self.get_serializer_context())
        return Response(output.data, status=status.HTTP_201_CREATED)

    def _update(self, request: Request, partial: bool) -> Response:
        entry = self.get_object()
        serializer = self.update_serializer_class(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        entry = entry_update(actor=request_user(request), entry=entry, content=serializer.to_content())
        output = self.output_serializer_class(self._reload(entry), context=self.get_serializer_context())
        return Response(output.data)

    def update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=False)

    def partial_update(self, request: Request, pk=None) -> Response:
        return self._update(request, partial=True)

    def destroy(self, request: Request, pk=None) -> Response:
        entry_delete(actor=request_user(request), entry=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary=(
            "The entry's history: every write and moderation step, with actors and reasons, for its "
            "focal points and moderators; when it was published, for everyone else."
        ),
        responses=EntryEventSerializer(many=True),
    )
    @action(detail=True, methods=["get"])
    def history(self, request: Request, pk=None) -> Response:
        events, full = entry_history_for_user(user=request_user(request), entry=self.get_object())
        page = self.paginate_queryset(events)
        return self.get_paginated_response(EntryEventSerializer(page, many=True, context={"full": full}).data)

    @extend_schema(
        methods=["GET"],
        summary="The documents attached to the entry (whoever may read the entry).",
        responses=AttachmentSerializer(many=True),
    )
    @extend_schema(
        methods=["POST"],
        summary=(
            "Attach a document (multipart: file and kind; the entry's focal points). PDF, Office or "
            "OpenDocument files, plain text or images, recognised by their content; at most ATTACHMENT_MAX_SIZE."
        ),
        request={"multipart/form-data": AttachmentInputSerializer},
        responses={201: AttachmentSerializer, 409: CONFLICT_RESPONSE},
    )
    @attachments_action()
    def attachments(self, request: Request, pk=None, format=None) -> Response:
        entry = self.get_object()
        context = {**self.get_serializer_context(), "kind": entry.kind}
        if request.method == "GET":
            return Response(AttachmentSerializer(entry_attachments(entry=entry), many=True, context=context).data)
        serializer = AttachmentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attachment = entry_attachment_add(
            actor=request_user(request),
            entry=entry,
            upload=serializer.validated_data["file"],
            kind=serializer.validated_data["kind"],
        )
        return Response(AttachmentSerializer(attachment, context=context).data, status=status.HTTP_201_CREATED)

    def _attachment(self, request: Request, attachment_id: object) -> EntryAttachment:
        entry = self.get_object()  # scoped to the caller: another State's draft is a 404
        attachment = attachment_or_404(entry_attachments(entry=entry), attachment_id)
        setattr(attachment, entry.kind, entry)
        return attachment

    @extend_schema(
        methods=["GET"],
        summary="Download a document (as an attachment, never displayed inline).",
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
    )
    @extend_schema(
        methods=["DELETE"],
        summary="Remove a document (the entry's focal points, moderators).",
        responses={204: None},
    )
    @attachment_detail_action()
    def attachment_detail(self, request: Request, pk=None, attachment_id=None, format=None):
        attachment = self._attachment(request, attachment_id)
        if request.method == "DELETE":
            entry_attachment_delete(actor=request_user(request), attachment=attachment)
            return Response(status=status.HTTP_204_NO_CONTENT)
        return attachment_response(attachment)

    submit = _transition_action(Action.SUBMIT)
    withdraw = _transition_action(Action.WITHDRAW)
    archive = _transition_action(Action.ARCHIVE)
    restore = _transition_action(Action.RESTORE)
    publish = _transition_action(Action.PUBLISH)
    return_ = _transition_action(Action.RETURN, "return_")
    unpublish = _transition_action(Action.UNPUBLISH)


def _entry_schema(kind: str, input_serializer, update_serializer, output_serializer):
    transitions = {
        ("return_" if a == Action.RETURN else a.value): extend_schema(
            responses={200: output_serializer, 409: CONFLICT_RESPONSE}
        )
        for a in Action
    }
    return extend_schema_view(
        **transitions,
        list=extend_schema(summary=f"{kind}s visible to you (published ones, and your organisation's)."),
        retrieve=extend_schema(summary=f"One {kind}."),
        create=extend_schema(
            summary=f"Create a draft {kind} for one of your organisations.",
            request=input_serializer,
            responses={201: output_serializer},
        ),
        update=extend_schema(
            summary=f"Replace the content of your {kind}; on a published one, proposes the changes for review.",
            request=update_serializer,
            responses={200: output_serializer, 409: CONFLICT_RESPONSE},
        ),
        partial_update=extend_schema(
            summary=f"Change some fields of your {kind}; on a published one, proposes the changes for review.",
            request=update_serializer,
            responses={200: output_serializer, 409: CONFLICT_RESPONSE},
        ),
        destroy=extend_schema(
            summary=f"Delete your {kind} (only drafts never published).",
            responses={204: None, 409: CONFLICT_RESPONSE},
        ),
    )


@_entry_schema("offer", OfferInputSerializer, OfferUpdateSerializer, OfferSerializer)
class OfferViewSet(_EntryViewSet):
    filterset_class = OfferFilterSet
    output_serializer_class = OfferSerializer
    create_serializer_class = OfferInputSerializer
    update_serializer_class = OfferUpdateSerializer

    def get_queryset(self):
        return self._for_reading(offer_list_for_user(user=request_user(self.request)).order_by("-updated_at", "-id"))

    def _create(self, request: Request, organisation: Organisation, content: EntryContent):
        return offer_create(actor=request_user(request), organisation=organisation, content=content)


@_entry_schema("need", NeedInputSerializer, NeedUpdateSerializer, NeedSerializer)
class NeedViewSet(_EntryViewSet):
    filterset_class = NeedFilterSet
    output_serializer_class = NeedSerializer
    create_serializer_class = NeedInputSerializer
    update_serializer_class = NeedUpdateSerializer

    def get_queryset(self):
        return self._for_reading(need_list_for_user(user=request_user(self.request)).order_by("-updated_at", "-id"))

    def _create(self, request: Request, organisation: Organisation, content: EntryContent):
        return need_create(actor=request_user(request), organisation=organisation, content=content)
