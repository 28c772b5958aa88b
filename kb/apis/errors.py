"""One error shape for the whole API (drf-standardized-errors), with our domain errors mapped:

    {"type": "validation_error" | "client_error" | "server_error",
     "errors": [{"code": "...", "detail": "...", "attr": "field or null"}]}

- Django ``ValidationError`` from services -> 400 with one item per field;
- ``IllegalTransition`` / ``EntryNotEditable`` -> 409 (``illegal_transition`` / ``not_editable``);
- ``SearchUnavailable`` -> 503 ``search_unavailable``;
- ``PermissionDenied`` from services keeps its explanatory message (403).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import exceptions, serializers, status

from kb.exceptions import EntryNotEditable, IllegalTransition
from kb.search import SearchUnavailable

logger = logging.getLogger(__name__)


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


class ServiceUnavailable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "A service this request needs is unavailable; try again shortly."
    default_code = "service_unavailable"


def _validation_detail(exc: DjangoValidationError):
    if hasattr(exc, "error_dict"):
        return {
            ("non_field_errors" if field == "__all__" else field): messages
            for field, messages in exc.message_dict.items()
        }
    return {"non_field_errors": exc.messages}


class DomainExceptionHandler(ExceptionHandler):
    def convert_known_exceptions(self, exc: Exception) -> Exception:
        if isinstance(exc, DjangoValidationError):
            return exceptions.ValidationError(detail=_validation_detail(exc))
        if isinstance(exc, IllegalTransition | EntryNotEditable):
            return Conflict(detail=str(exc), code=exc.code)
        if isinstance(exc, SearchUnavailable):
            return ServiceUnavailable(
                detail="Search is temporarily unavailable; the rest of the product works. Try again shortly.",
                code="search_unavailable",
            )
        if isinstance(exc, DjangoPermissionDenied) and exc.args:
            return exceptions.PermissionDenied(detail=str(exc))
        return super().convert_known_exceptions(exc)

    def report_exception(self, exc: exceptions.APIException, response) -> None:
        # A search outage is an expected, degraded state (logged as a warning), not a crash to
        # send to error monitoring.
        if isinstance(exc, ServiceUnavailable):
            logger.warning("search unavailable: %s", self.exc)
            return
        super().report_exception(exc, response)


# --- OpenAPI descriptions of the two statuses drf-standardized-errors does not know ---------------


class _ConflictError(serializers.Serializer):
    code = serializers.ChoiceField(
        choices=[("illegal_transition", "illegal_transition"), ("not_editable", "not_editable")]
    )
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    errors = _ConflictError(many=True)


class _UnavailableError(serializers.Serializer):
    code = serializers.ChoiceField(choices=[("search_unavailable", "search_unavailable")])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class UnavailableErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = _UnavailableError(many=True)


CONFLICT_RESPONSE = OpenApiResponse(
    ConflictErrorResponseSerializer, description="Not allowed in the entry's current state."
)
UNAVAILABLE_RESPONSE = OpenApiResponse(
    UnavailableErrorResponseSerializer, description="Search is unavailable; retry shortly."
)
