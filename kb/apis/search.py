"""Full-text faceted search over offers and needs, and the health check."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from core.api.errors import UNAVAILABLE_RESPONSE
from kb.search import SearchUnavailable, get_backend
from kb.search.labels import facet_label
from kb.search.params import SEARCH_FACETS, search_params_parse
from kb.search.query import SortOrder
from kb.search.sync import search_index_status
from kb.services.search import entries_search


class FacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    # The stubs see ``Field.label`` here; DRF's metaclass moves declared fields into ``_declared_fields``.
    label = serializers.CharField()  # type: ignore[assignment]
    count = serializers.IntegerField()


def _rfc3339(value: str | None) -> str | None:
    """The index keeps dates as text in either backend's form; the API answers RFC 3339."""
    if not value:
        return None
    parsed = parse_datetime(str(value))
    return parsed.isoformat() if parsed else None


class SearchHitSerializer(serializers.Serializer):
    kind = serializers.CharField()
    id = serializers.IntegerField()
    url = serializers.URLField()
    title = serializers.CharField()
    highlights = serializers.DictField(
        child=serializers.CharField(), help_text="HTML: text escaped, matches in <mark>."
    )
    score = serializers.FloatField(allow_null=True)
    status = serializers.CharField()
    language = serializers.CharField()
    country = serializers.CharField(allow_blank=True)
    country_name = serializers.CharField(allow_blank=True)
    organisation = serializers.CharField(allow_blank=True)
    global_south = serializers.BooleanField()
    published_at = serializers.DateTimeField(allow_null=True)


class SearchResponseSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    page = serializers.IntegerField()
    page_size = serializers.IntegerField()
    results = SearchHitSerializer(many=True)
    facets = serializers.DictField(child=FacetValueSerializer(many=True))
    took_ms = serializers.FloatField()


class SearchView(APIView):
    @extend_schema(
        summary="Search published offers and needs (and your organisation's drafts), with facets.",
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, description="Words in any language."),
            OpenApiParameter("type", OpenApiTypes.STR, enum=["offers", "needs"], description="Both when absent."),
            OpenApiParameter("sort", OpenApiTypes.STR, enum=list(SortOrder.CHOICES)),
            OpenApiParameter("page", OpenApiTypes.INT),
            OpenApiParameter("page_size", OpenApiTypes.INT, description=f"At most {settings.API_MAX_PAGE_SIZE}."),
            *[
                OpenApiParameter(
                    facet, OpenApiTypes.STR, many=True, description=f"Filter on {facet} (repeatable: any of)."
                )
                for facet in SEARCH_FACETS
            ],
        ],
        responses={200: SearchResponseSerializer, 503: UNAVAILABLE_RESPONSE},
    )
    def get(self, request: Request) -> Response:
        params = search_params_parse(request.query_params)
        results = entries_search(
            user=request_user(request),
            text=params.text,
            kinds=params.kinds,
            filters=params.filters,
            sort=params.sort,
            page=params.page,
            page_size=params.page_size,
        )
        hits = []
        for hit in results.hits:
            source = hit.source
            path = reverse(f"kb-api:{hit.kind}-detail", kwargs={"pk": hit.entry_id})
            hits.append(
                {
                    "kind": hit.kind,
                    "id": hit.entry_id,
                    "url": request.build_absolute_uri(path),
                    "title": source["title"],
                    "highlights": hit.highlights,
                    "score": hit.score,
                    "status": source["status"],
                    "language": source["language"],
                    "country": source.get("country", ""),
                    "country_name": facet_label("country", source.get("country", "")) if source.get("country") else "",
                    "organisation": source.get("organisation", ""),
                    "global_south": source.get("global_south") == "yes",
                    "published_at": _rfc3339(source.get("published_at")),
                }
            )
        facets = {
            facet: [{"value": v, "label": facet_label(facet, v), "count": c} for v, c in values]
            for facet, values in results.facets.items()
        }
        return Response(
            {
                "count": results.total,
                "page": params.page,
                "page_size": params.page_size,
                "results": hits,
                "facets": facets,
                "took_ms": round(results.took_ms, 2),
            }
        )


class HealthView(APIView):
    """Liveness and the state of each dependency. 200 while the database answers; a search
    outage is reported (degraded) but does not fail the check, since the rest works.

    Entry counts per index (database, index, outbox) and error details are for moderators only:
    anyone else, an anonymous monitor included, learns the status of each service and nothing
    about the content or the infrastructure."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(
        summary="Health of the app and its services.", responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT}
    )
    def get(self, request: Request) -> Response:
        report: dict = {"status": "ok"}
        show_counts = bool(request.user and request.user.is_authenticated and request.user.is_moderator)
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            report["database"] = "ok"
        except Exception as exc:  # the database is down: nothing works
            return Response({"status": "down", "database": str(exc)[:200] if show_counts else "down"}, status=503)
        backend = get_backend()
        try:
            backend.health()
            report["search"] = {"backend": backend.name, "status": "ok"}
            if not show_counts:
                return Response(report)
            report["search"]["indices"] = {
                row.kind: {
                    "database": row.database,
                    "index": row.index,
                    "pending": row.outbox_pending,
                    "in_sync": row.in_sync,
                }
                for row in search_index_status(backend=backend)
            }
        except SearchUnavailable as exc:
            report["status"] = "degraded"
            report["search"] = {"backend": backend.name, "status": "unavailable"}
            if show_counts:
                report["search"]["error"] = str(exc)[:200]
        return Response(report)
