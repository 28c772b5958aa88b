"""One error shape for the whole API (drf-standardized-errors):

    {"type": "validation_error" | "client_error" | "server_error",
     "errors": [{"code": "...", "detail": "...", "attr": "field or null"}]}

Mapped here, once:
- Django ``ValidationError`` from services -> 400 with one item per field;
- ``DomainError`` -> its own status (409 unless it says otherwise) and ``code``, with its
  ``user_message`` as detail (``illegal_transition``, ``not_editable``, ``run_already_active``,
  ``run_not_active``; ``search_unavailable`` is a 503);
- ``PermissionDenied`` from services keeps its explanatory message (403);
- Django's ``SuspiciousOperation`` (too many query or form fields, a malformed body) -> 400
  ``parse_error``, never a 500;
- a database write lock held too long (SQLite's "database is locked") -> 503 ``database_busy``
  with ``Retry-After``: the write did not happen and can be retried.
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import OperationalError
from drf_spectacular.utils import OpenApiResponse
from drf_standardized_errors.handler import ExceptionHandler
from drf_standardized_errors.openapi_serializers import ClientErrorEnum, ServerErrorEnum
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response

from core.errors import DomainError

logger = logging.getLogger(__name__)


class DomainAPIException(exceptions.APIException):
    """A ``DomainError`` in DRF's terms; the status is the error's own."""

    def __init__(self, error: DomainError):
        super().__init__(detail=error.user_message, code=error.code)
        self.status_code = error.status_code


class DatabaseBusy(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The database is busy with another write; nothing was changed. Try again in a few seconds."
    default_code = "database_busy"
    wait = 5


def is_lock_timeout(exc: BaseException) -> bool:
    """SQLite gave up waiting for another connection's write lock (busy timeout reached)."""
    return isinstance(exc, OperationalError) and "database is locked" in str(exc)


def _validation_detail(exc: DjangoValidationError) -> dict[str, list[str]]:
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
        if isinstance(exc, DomainError):
            return DomainAPIException(exc)
        if isinstance(exc, DjangoPermissionDenied) and exc.args:
            return exceptions.PermissionDenied(detail=str(exc))
        if isinstance(exc, SuspiciousOperation):
            return exceptions.ParseError(detail=f"The request is malformed: {exc}")
        if is_lock_timeout(exc):
            return DatabaseBusy()
        return super().convert_known_exceptions(exc)

    def report_exception(self, exc: exceptions.APIException, response: Response) -> None:
        # A domain error is an expected answer (a service being down included: a degraded
        # state, logged as a warning), not a crash to send to error monitoring.
        if isinstance(self.exc, DomainError):
            if exc.status_code >= 500:
                logger.warning("%s: %s", self.exc.code, self.exc)
            return
        if isinstance(exc, DatabaseBusy):
            logger.warning("write refused, database busy: %s", self.exc)
            return
        super().report_exception(exc, response)


# --- OpenAPI descriptions of the two statuses drf-standardized-errors does not know ---------------


#: Codes of the domain errors answered with 409 (a test holds this list against the code).
CONFLICT_CODES = ("illegal_transition", "not_editable", "run_already_active", "run_not_active", "entry_not_published")


class _ConflictError(serializers.Serializer):
    code = serializers.ChoiceField(choices=[(code, code) for code in CONFLICT_CODES])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class ConflictErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ClientErrorEnum.choices)
    # The documented field is called "errors", which shadows Serializer.errors (a property).
    errors = _ConflictError(many=True)  # type: ignore[assignment]


class _UnavailableError(serializers.Serializer):
    code = serializers.ChoiceField(choices=[("search_unavailable", "search_unavailable")])
    detail = serializers.CharField()
    attr = serializers.CharField(allow_null=True)


class UnavailableErrorResponseSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=ServerErrorEnum.choices)
    errors = _UnavailableError(many=True)  # type: ignore[assignment]


CONFLICT_RESPONSE = OpenApiResponse(ConflictErrorResponseSerializer, description="Not allowed in the current state.")
UNAVAILABLE_RESPONSE = OpenApiResponse(
    UnavailableErrorResponseSerializer, description="Search is unavailable; retry shortly."
)
