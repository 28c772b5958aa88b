"""Request limits applied before anything reads a request.

- ``LoadSheddingMiddleware``: a bounded number of requests in the views per process, a bounded
  queue waiting for them, 503 with ``Retry-After`` at once beyond it (below).

- ``RequestSizeLimitMiddleware``: a body larger than ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (or, for the
  import upload, ``IMPORT_MAX_UPLOAD_SIZE``; for an attachment upload, ``ATTACHMENT_MAX_SIZE`` plus
  that) is refused with 413 from its declared length, before a
  parser or a form reads a byte of it. Django reads no body without a ``Content-Length``, so the
  declared length bounds what is read. API paths answer in the API's error shape.
"""

from __future__ import annotations

import threading

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext_lazy as _

API_PREFIX = "/api/"
BUSY_DETAIL = _("The service has more requests than it can answer right now; please try again in a few seconds.")


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


class LoadSheddingMiddleware:
    """Past saturation, answer some requests at once with 503 rather than all of them late.

    A web process lets at most ``LOAD_SHED_MAX_IN_FLIGHT`` requests into the views at a time; up
    to ``LOAD_SHED_QUEUE`` more wait at most ``LOAD_SHED_WAIT_SECONDS`` for one of those slots.
    Any other request, and a waiting one whose time is up, gets 503 with ``Retry-After`` at once,
    without touching the database or the session (the API's one error shape, or the busy page).
    Without a bound, the work queued in front of a saturated process grows until every request
    waits longer than its client does: the process then spends its time on answers nobody reads,
    and goodput collapses. ``LOAD_SHED_MAX_IN_FLIGHT = 0`` turns this off. Paths starting with one
    of ``LOAD_SHED_EXEMPT_PATHS`` (the health checks, static files) are never shed: a load
    balancer that got 503 from the readiness check of every saturated process would take them all
    out at once.

    The counters are per process (the middleware is built once per process); gunicorn's threads
    must outnumber slots plus queue, or requests wait in gunicorn's own queue where this cannot
    see them (``Dockerfile``: 32 threads for 8 slots and 16 waiting).
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.limit = int(settings.LOAD_SHED_MAX_IN_FLIGHT)
        self.queue = int(settings.LOAD_SHED_QUEUE)
        self.wait = float(settings.LOAD_SHED_WAIT_SECONDS)
        self.retry_after = str(int(settings.LOAD_SHED_RETRY_AFTER))
        self.exempt = tuple(settings.LOAD_SHED_EXEMPT_PATHS)
        self._slots = threading.BoundedSemaphore(max(self.limit, 1))
        self._lock = threading.Lock()
        self.waiting = 0
        self._pages: dict[str, bytes] = {}

    def __call__(self, request):
        if self.limit <= 0 or request.path.startswith(self.exempt):
            return self.get_response(request)
        if not self._slots.acquire(blocking=False) and not self._wait_for_slot():
            return self._shed(request)
        try:
            return self.get_response(request)
        finally:
            self._slots.release()

    def _wait_for_slot(self) -> bool:
        with self._lock:
            if self.waiting >= self.queue or self.wait <= 0:
                return False
            self.waiting += 1
        try:
            return self._slots.acquire(timeout=self.wait)
        finally:
            with self._lock:
                self.waiting -= 1

    def _shed(self, request):
        from django.utils import translation

        language = translation.get_language_from_request(request)
        with translation.override(language):
            if request.path.startswith(API_PREFIX):
                response = api_error(503, "overloaded", str(BUSY_DETAIL))
            else:
                page = self._pages.get(language)
                if page is None:  # rendered once per language: shedding must cost next to nothing
                    context = {"LANGUAGE_CODE": language, "LANGUAGE_BIDI": translation.get_language_bidi()}
                    page = self._pages[language] = render_to_string("web/busy.html", context).encode()
                response = HttpResponse(page, status=503)
        response["Retry-After"] = self.retry_after
        response["Cache-Control"] = "no-store"
        return response
