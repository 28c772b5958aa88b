"""Bulk import (upload) and export of the interchange format, for moderators."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import request_user
from core.api.permissions import IsModerator
from kb.apis.serializers import ImportInputSerializer, ImportReportSerializer
from kb.services.importing import entries_export_lines, entries_import_file


class ImportView(APIView):
    permission_classes = [IsModerator]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Import an interchange file (all or nothing; every problem reported with its line).",
        request={"multipart/form-data": ImportInputSerializer},
        responses={200: ImportReportSerializer, 400: OpenApiResponse(description="Invalid lines; nothing written.")},
    )
    def post(self, request: Request) -> Response:
        serializer = ImportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        report = entries_import_file(
            stream=serializer.validated_data["file"],
            publish=serializer.validated_data["publish"],
            dry_run=serializer.validated_data["dry_run"],
            actor=request_user(request),
        )
        if not report.ok:
            problems: dict[str, list[str]] = {}
            for error in report.errors:
                problems.setdefault(f"line_{error.line}" + (f".{error.key}" if error.key else ""), []).append(
                    error.reason
                )
            raise serializers.ValidationError(problems)
        return Response(ImportReportSerializer(report.as_dict()).data, status=status.HTTP_200_OK)


class ExportView(APIView):
    permission_classes = [IsModerator]

    @extend_schema(
        summary="Export all entries (but archived ones) in the interchange format.",
        responses={(200, "application/x-ndjson"): OpenApiResponse(description="JSON Lines")},
    )
    def get(self, request: Request):
        lines = (line + "\n" for line in entries_export_lines())
        response = StreamingHttpResponse(lines, content_type="application/x-ndjson; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="ta-exchange-entries.jsonl"'
        return response
