"""Documents attached to entries and engagements: upload, download, removal.

Reading follows the entry's or engagement's visibility (``kb.selectors`` /
``matching.selectors``): another State's draft or engagement and their files are a 404. Files are
always sent as downloads with ``nosniff`` (``core.attachments.attachment_response``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import User
from core.attachments import attachment_response
from core.web import USER_ERRORS, show_error
from kb.models import EntryAttachment, KnowledgeEntry
from kb.selectors import (
    entry_attachment_get_for_user,
    entry_attachments,
    entry_can_manage,
    need_list_for_user,
    offer_list_for_user,
    user_scope,
)
from kb.services.attachments import attachment_kinds_for, entry_attachment_add, entry_attachment_delete
from matching.models import Engagement, EngagementAttachment
from matching.selectors import engagement_attachment_get_for_user, engagement_attachments, engagement_list_for_user
from matching.services.attachments import (
    ENGAGEMENT_ATTACHMENT_KINDS,
    engagement_attachment_add,
    engagement_attachment_delete,
)
from web.forms import AttachmentForm
from web.views.common import AuthenticatedHttpRequest


@dataclass(frozen=True)
class ListedAttachment:
    """A document as a page lists it: the row, and where its download and removal go."""

    attachment: EntryAttachment | EngagementAttachment
    download_url: str
    delete_url: str


def _entry(request: AuthenticatedHttpRequest, kind: str, pk: int) -> KnowledgeEntry:
    entries = offer_list_for_user(user=request.user) if kind == "offer" else need_list_for_user(user=request.user)
    return get_object_or_404(entries, pk=pk)


def _upload_errors(request: HttpRequest, form: AttachmentForm) -> None:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        for error in errors:
            messages.error(request, f"{label}: {error}" if label else str(error))


def entry_attachments_context(*, user: User, kind: str, entry: KnowledgeEntry) -> dict[str, Any]:
    """What the entry page shows of its documents, and the upload form for its focal points."""
    items = [
        ListedAttachment(
            item,
            download_url=reverse("web:entry-attachment", args=[kind, entry.pk, item.pk]),
            delete_url=reverse("web:entry-attachment-delete", args=[kind, entry.pk, item.pk]),
        )
        for item in entry_attachments(entry=entry)
    ]
    can_manage = entry_can_manage(user=user, entry=entry)
    return {
        "attachments": items,
        "attachments_removable": can_manage or user_scope(user).is_moderator,
        "attachment_form": AttachmentForm(kinds=attachment_kinds_for(entry))
        if can_manage and entry.status != "archived"
        else None,
        "attachment_upload_url": reverse("web:entry-attachments", args=[kind, entry.pk]),
    }


def engagement_attachments_context(*, user: User, engagement: Engagement, can_attach: bool) -> dict[str, Any]:
    items = [
        ListedAttachment(
            item,
            download_url=reverse("web:engagement-attachment", args=[engagement.pk, item.pk]),
            delete_url=reverse("web:engagement-attachment-delete", args=[engagement.pk, item.pk]),
        )
        for item in engagement_attachments(engagement=engagement)
    ]
    return {
        "attachments": items,
        "attachments_removable": can_attach,
        "attachment_form": AttachmentForm(kinds=ENGAGEMENT_ATTACHMENT_KINDS) if can_attach else None,
        "attachment_upload_url": reverse("web:engagement-attachments", args=[engagement.pk]),
    }


def _upload(
    request: HttpRequest,
    form: AttachmentForm,
    add: Callable[[UploadedFile, str], EntryAttachment | EngagementAttachment],
    back: str,
) -> HttpResponse:
    """Validate the upload form, attach with ``add(file, kind)``, say what happened, go ``back``."""
    if form.is_valid():
        try:
            attachment = add(form.cleaned_data["file"], form.cleaned_data["kind"])
        except ValidationError as exc:
            form.add_service_errors(exc)
            _upload_errors(request, form)
        except (*USER_ERRORS, PermissionDenied) as exc:
            show_error(request, exc)
        else:
            messages.success(request, _("Attached: %(name)s") % {"name": attachment.name})
    else:
        _upload_errors(request, form)
    return redirect(back + "#documents")


@login_required
@require_POST
def entry_attachment_upload(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    entry = _entry(request, kind, pk)
    return _upload(
        request,
        AttachmentForm(request.POST, request.FILES, kinds=attachment_kinds_for(entry)),
        lambda upload, document_kind: entry_attachment_add(
            actor=request.user, entry=entry, upload=upload, kind=document_kind
        ),
        reverse("web:entry", args=[kind, pk]),
    )


@login_required
def entry_attachment_download(
    request: AuthenticatedHttpRequest, kind: str, pk: int, attachment_pk: int
) -> HttpResponseBase:
    attachment = entry_attachment_get_for_user(user=request.user, kind=kind, entry_id=pk, attachment_id=attachment_pk)
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


@login_required
@require_POST
def entry_attachment_remove(request: AuthenticatedHttpRequest, kind: str, pk: int, attachment_pk: int) -> HttpResponse:
    attachment = entry_attachment_get_for_user(user=request.user, kind=kind, entry_id=pk, attachment_id=attachment_pk)
    if attachment is None:
        raise Http404
    try:
        entry_attachment_delete(actor=request.user, attachment=attachment)
    except (*USER_ERRORS, PermissionDenied) as exc:
        show_error(request, exc)
    else:
        messages.success(request, _("Removed: %(name)s") % {"name": attachment.name})
    return redirect(reverse("web:entry", args=[kind, pk]) + "#documents")


@login_required
@require_POST
def engagement_attachment_upload(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    engagement = get_object_or_404(engagement_list_for_user(user=request.user), pk=pk)
    return _upload(
        request,
        AttachmentForm(request.POST, request.FILES, kinds=ENGAGEMENT_ATTACHMENT_KINDS),
        lambda upload, document_kind: engagement_attachment_add(
            actor=request.user, engagement=engagement, upload=upload, kind=document_kind
        ),
        reverse("web:engagement", args=[pk]),
    )


@login_required
def engagement_attachment_download(request: AuthenticatedHttpRequest, pk: int, attachment_pk: int) -> HttpResponseBase:
    attachment = engagement_attachment_get_for_user(user=request.user, engagement_id=pk, attachment_id=attachment_pk)
    if attachment is None:
        raise Http404
    return attachment_response(attachment)


@login_required
@require_POST
def engagement_attachment_remove(request: AuthenticatedHttpRequest, pk: int, attachment_pk: int) -> HttpResponse:
    attachment = engagement_attachment_get_for_user(user=request.user, engagement_id=pk, attachment_id=attachment_pk)
    if attachment is None:
        raise Http404
    try:
        engagement_attachment_delete(actor=request.user, attachment=attachment)
    except (*USER_ERRORS, PermissionDenied) as exc:
        show_error(request, exc)
    else:
        messages.success(request, _("Removed: %(name)s") % {"name": attachment.name})
    return redirect(reverse("web:engagement", args=[pk]) + "#documents")
