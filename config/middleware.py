"""Request limits applied before anything reads a request.

- ``RequestSizeLimitMiddleware``: a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or, for the
  import upload, ``IMPORT_MAX_UPLOAD_SIZE``; for an attachment upload, ``ATTACHMENT_MAX_SIZE`` plus
  that) is refused with 413 from its declared length, before a
  parser or a form reads a byte of it. Django reads no body without a ``Content-Length``, so the
  declared length bounds what is read. API paths answer in the API's error shape.
"""

from __future__ import annotations

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render

API_PREFIX = "/api/"


def api_error(status: int, code: str, detail: str) -> JsonResponse:
    """A response in the API's one error shape, for answers given outside DRF's views."""
    kind = "server_error" if status >= 500 else "client_error"
    return JsonResponse({"type": kind, "errors": [{"code": code, "detail": detail, "attr": None}]}, status=status)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.path in settings.LARGE_UPLOAD_PATHS:
            limit = settings.IMPORT_MAX_UPLOAD_SIZE
        elif request.method == "POST" and request.path.endswith(settings.ATTACHMENT_UPLOAD_PATH_SUFFIX):
            # The file itself is checked against ATTACHMENT_MAX_SIZE with a message naming it.
            limit = settings.ATTACHMENT_MAX_SIZE + settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            if request.path.startswith(API_PREFIX):
                return api_error(413, "request_too_large", f"The request body is larger than {limit} bytes.")
            return render(request, "400.html", status=413)
        return self.get_response(request)


class DatabaseBusyMiddleware:
    """A write that waited out the database's busy timeout (SQLite's "database is locked") answers
    503 with ``Retry-After``, never 500: nothing was written (the transaction rolled back) and
    trying again in a moment works. The API's views map it the same way (``core.api.errors``)."""

    RETRY_AFTER = 5

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from core.api.errors import is_lock_timeout

        if not is_lock_timeout(exception):
            return None
        if request.path.startswith(API_PREFIX):
            response = api_error(503, "database_busy", "The database is busy with another write; try again shortly.")
        else:
            response = render(request, "503.html", status=503)
        response["Retry-After"] = str(self.RETRY_AFTER)
        return response
