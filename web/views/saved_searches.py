"""Saving a search from the Browse page, and deleting it from the account page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.web import show_error
from kb.models import SavedSearch
from kb.search.documents import FACET_FIELDS
from kb.selectors import saved_search_list_for_user
from kb.services.saved_searches import saved_search_create, saved_search_delete


def browse_url(search: SavedSearch) -> str:
    """The Browse page showing what ``search`` asks for."""
    params: list[tuple[str, str]] = [("q", search.text)] if search.text else []
    if search.kind:
        params.append(("kind", search.kind))
    params += [(facet, value) for facet, values in sorted(search.filters.items()) for value in values]
    return reverse("web:browse") + ("?" + urlencode(params) if params else "")


def saved_searches_for_account(*, user) -> list[SavedSearch]:
    items = list(saved_search_list_for_user(user=user))
    for item in items:
        item.browse_url = browse_url(item)
    return items


@login_required
@require_POST
def saved_search_save(request):
    kind = request.POST.get("kind", "")
    filters = {
        facet: request.POST.getlist(facet) for facet in FACET_FIELDS if facet != "kind" and request.POST.getlist(facet)
    }
    try:
        search = saved_search_create(
            user=request.user,
            name=request.POST.get("name", "")[:100],
            text=request.POST.get("q", ""),
            kind=kind if kind in ("offer", "need") else "",
            filters=filters,
        )
    except ValidationError as exc:
        show_error(request, exc)
        params = [("q", request.POST.get("q", ""))] + ([("kind", kind)] if kind else [])
        params += [(facet, value) for facet, values in filters.items() for value in values]
        return redirect(reverse("web:browse") + "?" + urlencode(params))
    messages.success(
        request,
        _("Search saved: “%(name)s”. You will be notified when a newly published entry matches it.")
        % {"name": search.name},
    )
    return redirect(browse_url(search))


@login_required
@require_POST
def saved_search_remove(request, pk: int):
    search = get_object_or_404(saved_search_list_for_user(user=request.user), pk=pk)
    saved_search_delete(user=request.user, saved_search=search)
    messages.success(request, _("Saved search deleted: “%(name)s”.") % {"name": search.name})
    return redirect(reverse("web:account") + "#saved-searches")
