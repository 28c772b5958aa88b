"""Errors on web pages: one mapping from what a service refused to what the user reads.

Views catch ``USER_ERRORS`` around a service call and pass the error to ``show_error``: a
``DomainError`` reads as its ``user_message`` (what the API sends as ``detail``), a
``ValidationError`` as its messages. Errors of a form's fields go on the form instead
(``web.forms.ServiceErrorsMixin``).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext as _

from core.errors import DomainError

USER_ERRORS = (DomainError, ValidationError)


def error_text(exc: DomainError | ValidationError | PermissionDenied) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(exc.messages)
    if isinstance(exc, DomainError):
        return exc.user_message
    return str(exc) or _("Not allowed.")


def show_error(request: HttpRequest, exc: DomainError | ValidationError | PermissionDenied) -> None:
    messages.error(request, error_text(exc))
