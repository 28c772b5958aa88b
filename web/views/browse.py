"""Browse and search the knowledge base (the facets of the search API), and read an entry."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils.http import urlencode
from rest_framework import serializers

from kb.models import AssistanceNeed, ExpertiseOffer
from kb.search import SearchUnavailable
from kb.search.labels import facet_label
from kb.search.params import SearchParams, search_params_parse
from kb.selectors import (
    entry_can_manage,
    entry_contact_for_user,
    entry_events,
    need_list_for_user,
    offer_list_for_user,
    user_scope,
)
from kb.services.moderation import allowed_actions
from kb.services.revisions import entry_pending_diff
from kb.services.search import entries_search
from matching.selectors import need_candidates, need_outcome, offers_to_help_with
from web.views.attachments import entry_attachments_context
from web.views.common import AuthenticatedHttpRequest

PAGE_SIZE = 20
FACET_ORDER = (
    "kind",
    "chapter",
    "article",
    "ta_type",
    "thematic_area",
    "region",
    "regional_group",
    "country",
    "language",
    "south_south",
)


def browse_search_params(data: QueryDict) -> SearchParams:
    """The search the Browse page's parameters (its links, its save form) ask for, through the
    search API's own parser. The web's ``kind`` (offer/need) is the API's ``type`` (offers/needs);
    the page's size is fixed, whatever the link says; other parameters are ignored. Raises the
    parser's ``serializers.ValidationError`` (``search_errors`` reads it)."""
    query = data.copy()
    kind = query.pop("kind", [""])[-1]
    if kind:
        query["type"] = f"{kind}s"
    query.pop("page_size", None)
    return search_params_parse(query, page_size=PAGE_SIZE, strict=False)


def search_errors(exc: serializers.ValidationError) -> list[str]:
    """The parser's messages, field by field, as the page shows them (a facet's errors are by
    value: ``{"country": {0: [...]}}``)."""

    def messages(detail: object) -> list[str]:
        if isinstance(detail, dict):
            return [m for value in detail.values() for m in messages(value)]
        if isinstance(detail, list):
            return [m for value in detail for m in messages(value)]
        return [str(detail)]

    return messages(exc.detail)


@login_required
def browse(request: AuthenticatedHttpRequest) -> HttpResponse:
    kind = request.GET.get("kind", "")
    try:
        params = browse_search_params(request.GET)
    except serializers.ValidationError as exc:
        # The same errors as the API's, by field, shown above the (empty) results.
        errors = search_errors(exc)
        context = {"q": request.GET.get("q", "")[:500], "kind": kind, "filters": {}, "sort": "relevance", "page": 1}
        return render(request, "web/browse.html", {**context, "errors": errors}, status=400)
    text, filters, sort, page = params.text, params.filters, params.sort, params.page
    context = {
        "q": text,
        "kind": kind if kind in ("offer", "need") else "",
        "filters": filters,
        "sort": sort,
        "page": page,
    }
    try:
        results = entries_search(
            user=request.user, text=text, kinds=params.kinds, filters=filters, sort=sort, page=page, page_size=PAGE_SIZE
        )
    except SearchUnavailable:
        return render(request, "web/browse.html", {**context, "unavailable": True}, status=503)
    facets = []
    for facet in FACET_ORDER:
        values = results.facets.get(facet, [])
        if values:
            selected = set(request.GET.getlist(facet))
            facets.append(
                (facet, [(value, facet_label(facet, value), count, value in selected) for value, count in values[:30]])
            )
    base = [(k, v) for k in request.GET for v in request.GET.getlist(k) if k != "page"]
    pages = (results.total + PAGE_SIZE - 1) // PAGE_SIZE
    context.update(
        results=results,
        facets=facets,
        pages=pages,
        previous_url="?" + urlencode(base + [("page", page - 1)]) if page > 1 else None,
        next_url="?" + urlencode(base + [("page", page + 1)]) if page < pages else None,
    )
    return render(request, "web/browse.html", context)


def _entry(request: AuthenticatedHttpRequest, kind: str, pk: int) -> ExpertiseOffer | AssistanceNeed:
    entry: ExpertiseOffer | AssistanceNeed | None
    if kind == "offer":
        entry = offer_list_for_user(user=request.user).filter(pk=pk).first()
    else:
        entry = need_list_for_user(user=request.user).filter(pk=pk).first()
    if entry is None:
        raise Http404
    return entry


@login_required
def entry_detail(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    entry = _entry(request, kind, pk)
    scope = user_scope(request.user)
    is_owner = entry_can_manage(user=request.user, entry=entry)
    context = {
        "entry": entry,
        "kind": kind,
        "is_owner": is_owner,
        "actions": allowed_actions(entry, is_owner=is_owner, is_moderator=scope.is_moderator),
        "events": entry_events(entry=entry)[:20] if is_owner or scope.is_moderator else [],
        "country": entry.organisation.country if isinstance(entry, ExpertiseOffer) else entry.country,
        "contact": entry_contact_for_user(user=request.user, entry=entry),
        **entry_attachments_context(user=request.user, kind=kind, entry=entry),
        # The authors and the moderators read the pending changes against the published text.
        "pending_diff": entry_pending_diff(entry) if is_owner or scope.is_moderator else [],
    }
    if isinstance(entry, AssistanceNeed) and (is_owner or scope.is_moderator):
        context["candidates"] = need_candidates(user=request.user, need=entry)
        context["outcome"] = need_outcome(need=entry)
    if isinstance(entry, AssistanceNeed) and scope.provider_org_ids:
        # A provider can offer help on any published need with one of its own published offers.
        context["help_offers"] = offers_to_help_with(user=request.user, need=entry)
    return render(request, "web/entry_detail.html", context)
