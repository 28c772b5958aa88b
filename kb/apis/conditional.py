"""Conditional GET of the entry lists and details (``ETag``, ``Last-Modified``), so a client polling
what it already has gets 304 and no body, after one aggregate query instead of the page's queries.

The ETag is a digest of what the representation depends on: the entries the caller's filtered query
selects (their number, latest ``updated_at`` and highest id: any edit, transition, addition or
deletion changes one of them; for a detail, the entry's ``updated_at``), who asks (their id and
scope: what they may see and do differs), the absolute URL (host, filters, ordering, page), the
negotiated media type (JSON or the browsable API) and the language of the labels. The aggregate
runs over the caller's own visible queryset, so another State's draft changing never changes a
focal point's ETag: it tells them nothing they could not read. Renaming an organisation or a reference label changes no entry, so it does not change the
ETag: such renames are rare and administrative, and a client sees them with the next change of an
entry in its list.

``If-Modified-Since`` is not honoured (a deletion does not move the latest ``updated_at``), only
``If-None-Match``; ``Last-Modified`` is sent for information.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable

from django.db.models import Count, Max, QuerySet
from django.http import HttpResponseBase
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_vary_headers
from django.utils.http import http_date
from rest_framework.request import Request

from accounts.selectors import request_user
from kb.selectors import user_scope

VARY = ("Accept", "Accept-Language", "Authorization", "Cookie")


def list_validators(request: Request, queryset: QuerySet) -> tuple[str, dt.datetime | None]:
    # Count("pk") over the queryset as it is (distinct when a filter made it so) is its .count():
    # the paginator reuses it (core.api.pagination) instead of counting a second time.
    stamp = queryset.order_by().aggregate(n=Count("pk"), last=Max("updated_at"), top=Max("pk"))
    request.known_count = stamp["n"]  # type: ignore[attr-defined]  # read by core.api.pagination
    parts = [
        "list",
        str(stamp["n"]),
        stamp["last"].isoformat() if stamp["last"] else "",
        str(stamp["top"] or 0),
    ]
    return _etag(request, parts), stamp["last"]


def detail_validators(request: Request, queryset: QuerySet, pk) -> tuple[str, dt.datetime] | None:
    """None when the caller cannot see the entry (the view then answers its usual 404)."""
    try:
        updated = queryset.order_by().filter(pk=pk).values_list("updated_at", flat=True).first()
    except (TypeError, ValueError):  # a malformed id: let the view answer it
        return None
    if updated is None:
        return None
    return _etag(request, ["detail", str(pk), updated.isoformat()]), updated


def conditional(
    request: Request, validators: tuple[str, dt.datetime | None] | None, render: Callable[[], HttpResponseBase]
) -> HttpResponseBase:
    """304 when ``If-None-Match`` names the current ETag, else ``render()`` with the validators."""
    if validators is None:
        return render()
    etag, last_modified = validators
    not_modified = get_conditional_response(request, etag=etag)
    response = not_modified if not_modified is not None else render()
    if response.status_code in (200, 304):
        response["ETag"] = etag
        if last_modified is not None:
            response["Last-Modified"] = http_date(last_modified.timestamp())
        patch_vary_headers(response, VARY)
    return response


def _etag(request: Request, parts: list[str]) -> str:
    scope = user_scope(request_user(request))
    key = [
        str(request.user.pk),
        # Sorted: the order of a set of strings differs between processes (hash randomisation).
        repr({name: sorted(value) if isinstance(value, frozenset) else value for name, value in _fields(scope)}),
        request.build_absolute_uri(),
        # JSON or the browsable API's HTML: negotiated before the view runs.
        str(getattr(request, "accepted_media_type", "")),
        translation.get_language() or "",
        *parts,
    ]
    digest = hashlib.sha256("|".join(key).encode()).hexdigest()[:32]
    return f'W/"{digest}"'


def _fields(scope) -> list[tuple[str, object]]:
    return [(f.name, getattr(scope, f.name)) for f in dataclasses.fields(scope)]
