"""The two routes of documents attached to something (an entry, an engagement), declared once:

- ``<detail>/attachments/``: GET lists the documents, POST attaches one (multipart, unpaginated);
- ``<detail>/attachments/<attachment_id>/``: GET sends the file (always a download, whatever
  ``Accept`` says: ``FileDownloadNegotiation``), DELETE removes it.

Each viewset keeps its own documentation (``extend_schema``) and calls its own services.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser

from core.api.negotiation import FileDownloadNegotiation

_Func = TypeVar("_Func", bound=Callable[..., Any])
_Row = TypeVar("_Row", bound=Model)


def attachments_action() -> Callable[[_Func], Any]:
    """``@action`` for the list-and-attach route."""
    return action(
        detail=True,
        methods=["get", "post"],
        url_path="attachments",
        url_name="attachments",
        parser_classes=[MultiPartParser],
        pagination_class=None,
    )


def attachment_detail_action() -> Callable[[_Func], Any]:
    """``@action`` for the download-and-remove route."""
    return action(
        detail=True,
        methods=["get", "delete"],
        url_path=r"attachments/(?P<attachment_id>[0-9]+)",
        url_name="attachment-detail",
        content_negotiation_class=FileDownloadNegotiation,
    )


def attachment_or_404(attachments: QuerySet[_Row], attachment_id: object) -> _Row:
    """The document ``attachment_id`` among ``attachments`` (already scoped to the caller), or 404."""
    attachment = attachments.filter(pk=attachment_id).first()
    if attachment is None:
        raise Http404
    return attachment
