"""Content negotiation of file downloads."""

from __future__ import annotations

from rest_framework.negotiation import BaseContentNegotiation


class FileDownloadNegotiation(BaseContentNegotiation):
    """A download answers with the file's own bytes whatever ``Accept`` says, and its errors in
    the API's JSON error shape: the client's ``Accept`` (often ``application/octet-stream`` or
    the file's type) must not turn either into a 406."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type
