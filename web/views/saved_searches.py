"""Saving a search from the Browse page, and deleting it from the account page."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework import serializers

from accounts.models import User
from accounts.selectors import request_user
from core.web import show_error
from kb.models import SavedSearch
from kb.search.params import SEARCH_FACETS
from kb.selectors import saved_search_list_for_user
from kb.services.saved_searches import saved_search_create, saved_search_delete
from web.views.browse import browse_search_params, search_errors
from web.views.common import AuthenticatedHttpRequest


def browse_url(search: SavedSearch) -> str:
    """The Browse page showing what ``search`` asks for."""
    params: list[tuple[str, str]] = [("q", search.text)] if search.text else []
    if search.kind:
        params.append(("kind", search.kind))
    params += [(facet, value) for facet, values in sorted(search.filters.items()) for value in values]
    return reverse("web:browse") + ("?" + urlencode(params) if params else "")


@dataclass(frozen=True)
class ListedSavedSearch:
    """A saved search as the account page lists it, with the Browse page showing it."""

    search: SavedSearch
    browse_url: str


def saved_searches_for_account(*, user: User) -> list[ListedSavedSearch]:
    return [ListedSavedSearch(search, browse_url(search)) for search in saved_search_list_for_user(user=user)]


def _back_to_browse(request: HttpRequest) -> HttpResponse:
    kind = request.POST.get("kind", "")
    back = [("q", request.POST.get("q", ""))] + ([("kind", kind)] if kind else [])
    back += [(facet, value) for facet in SEARCH_FACETS for value in request.POST.getlist(facet)]
    return redirect(reverse("web:browse") + "?" + urlencode(back))


@login_required
@require_POST
def saved_search_save(request: HttpRequest) -> HttpResponse:
    """Save the search the Browse page shows (its parameters, posted back), parsed as Browse parses them."""
    try:
        params = browse_search_params(request.POST)
        search = saved_search_create(user=request_user(request), name=request.POST.get("name", ""), params=params)
    except serializers.ValidationError as exc:  # the search itself: the parser's errors, as Browse shows them
        for error in search_errors(exc):
            messages.error(request, error)
        return _back_to_browse(request)
    except ValidationError as exc:  # the name, or too many saved searches
        show_error(request, exc)
        return _back_to_browse(request)
    messages.success(
        request,
        _("Search saved: “%(name)s”. You will be notified when a newly published entry matches it.")
        % {"name": search.name},
    )
    return redirect(browse_url(search))


@login_required
@require_POST
def saved_search_remove(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    search = get_object_or_404(saved_search_list_for_user(user=request.user), pk=pk)
    saved_search_delete(user=request.user, saved_search=search)
    messages.success(request, _("Saved search deleted: “%(name)s”.") % {"name": search.name})
    return redirect(reverse("web:account") + "#saved-searches")
