"""The caller's saved searches: list, save, read, delete. Each raises alerts when a newly
published entry matches it (``kb.search.alerts``); the notifications come through
``/api/v1/notifications/``. Another user's saved search is a 404."""

from __future__ import annotations

from django.urls import reverse
from django.utils.http import urlencode
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.selectors import request_user
from core.api.serializers import RejectUnknownFieldsMixin
from kb.models import SavedSearch
from kb.search.params import MAX_FACET_VALUES, MAX_TEXT, TYPES, search_params_parse_nested
from kb.selectors import saved_search_list_for_user
from kb.services.saved_searches import saved_search_create, saved_search_delete

_TYPE_OF = {kinds[0]: name for name, kinds in TYPES.items()}


class SavedSearchInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The body's shape. What is searched (``q``, ``type``, ``filters``) is then checked by the
    search parameters' own parser (``kb.search.params``), as a search's query string is."""

    name = serializers.CharField(max_length=100, required=False, allow_blank=True, help_text="Defaults to the text.")
    q = serializers.CharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text=f"The search text (at most {MAX_TEXT})."
    )
    type = serializers.ChoiceField(choices=list(TYPES), required=False, allow_null=True)
    filters = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text=(
            "Facet -> accepted values, as in /api/v1/search/ (article, chapter, ta_type, country, ...), "
            f"at most {MAX_FACET_VALUES} per facet."
        ),
    )


class SavedSearchSerializer(serializers.ModelSerializer):
    q = serializers.CharField(source="text", read_only=True)
    type = serializers.SerializerMethodField()
    filters = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), read_only=True)
    search_url = serializers.SerializerMethodField()

    class Meta:
        model = SavedSearch
        fields = ["id", "name", "q", "type", "filters", "created_at", "search_url"]
        read_only_fields = fields

    @extend_schema_field(serializers.ChoiceField(choices=["offers", "needs"], allow_null=True))
    def get_type(self, search: SavedSearch) -> str | None:
        return _TYPE_OF.get(search.kind)

    @extend_schema_field(serializers.URLField())
    def get_search_url(self, search: SavedSearch) -> str:
        params: list[tuple[str, str]] = [("q", search.text)] if search.text else []
        if search.kind:
            params.append(("type", _TYPE_OF[search.kind]))
        params += [(facet, value) for facet, values in sorted(search.filters.items()) for value in values]
        path = reverse("kb-api:search") + ("?" + urlencode(params) if params else "")
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


@extend_schema_view(
    list=extend_schema(summary="Your saved searches, newest first."),
    retrieve=extend_schema(summary="One of your saved searches."),
    create=extend_schema(
        summary=(
            "Save a search (text, type, facet filters): you are notified, once per entry, when a newly "
            "published entry matches it."
        ),
        request=SavedSearchInputSerializer,
        responses={201: SavedSearchSerializer},
    ),
    destroy=extend_schema(summary="Delete one of your saved searches.", responses={204: None}),
)
class SavedSearchViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet
):
    serializer_class = SavedSearchSerializer

    def get_queryset(self):
        return saved_search_list_for_user(user=request_user(self.request))

    def create(self, request: Request) -> Response:
        serializer = SavedSearchInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        params = search_params_parse_nested(
            q=data.get("q", ""), search_type=data.get("type"), filters=data.get("filters")
        )
        search = saved_search_create(user=request_user(request), name=data.get("name", ""), params=params)
        return Response(
            SavedSearchSerializer(search, context={"request": request}).data, status=status.HTTP_201_CREATED
        )

    def perform_destroy(self, instance: SavedSearch) -> None:
        saved_search_delete(user=request_user(self.request), saved_search=instance)
