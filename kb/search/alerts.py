"""Saved-search alerts, checked after indexing.

``saved_search_alerts_raise`` runs in ``kb.search.sync.search_sync_entries`` once a batch of
entries is written to the index (the outbox path: every change reaches it, after commit, and
again after an outage). It looks only at the batch's *published* entries and only at the saved
searches that could want them (same kind, saved before the entry was published, owner active),
asks the index which of those entries each such search matches (the search itself restricted to
the batch's ids, with the owner's language, published entries only), and records one
``SavedSearchAlert`` per (saved search, entry). The unique constraint makes a re-indexed entry,
a re-delivered task or two workers raise an alert once only; the new alerts are announced with
``kb.signals.saved_searches_matched`` inside the transaction that records them (matching writes
the owners' notifications there, e-mailed after commit). Nothing polls saved searches per request.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer, SavedSearch, SavedSearchAlert
from kb.search.backends.base import SearchBackend
from kb.search.query import SearchRequest
from kb.signals import saved_searches_matched


def _published(kind: str, ids: list[int]) -> dict[int, object]:
    model = ExpertiseOffer if kind == "offer" else AssistanceNeed
    rows = model.objects.filter(pk__in=ids, status=EntryStatus.PUBLISHED, published_at__isnull=False)
    return dict(rows.values_list("id", "published_at"))


def saved_search_alerts_raise(*, kind: str, entry_ids: Iterable[int], backend: SearchBackend) -> list[SavedSearchAlert]:
    """Record (and announce) the alerts this batch of indexed entries raises; returns the new ones."""
    published = _published(kind, sorted(set(entry_ids)))
    if not published:
        return []
    latest = max(published.values())  # type: ignore[type-var]
    searches = list(
        SavedSearch.objects.filter(Q(kind="") | Q(kind=kind), user__is_active=True, created_at__lte=latest)
        .select_related("user")
        .order_by("id")
    )
    if not searches:
        return []
    backend.refresh()  # the batch was just written: the searches below must see it
    matches: list[tuple[SavedSearch, int]] = []
    for search in searches:
        wanted = tuple(sorted(pk for pk, at in published.items() if at >= search.created_at))  # type: ignore[operator]
        if not wanted:
            continue
        request = SearchRequest(
            kinds=(kind,),
            text=search.text,
            filters=dict(search.filters),
            visible_to_owners=(),  # published entries only, whoever the owner is
            offset=0,
            limit=len(wanted),
            facets=(),
            entry_ids=wanted,
            extra_languages=((search.user.preferred_language or "").split("-")[0],)
            if search.user.preferred_language
            else (),
        )
        matches += [(search, hit.entry_id) for hit in backend.search(request).hits]
    if not matches:
        return []
    created = []
    with transaction.atomic():
        for search, entry_id in matches:
            alert, new = SavedSearchAlert.objects.get_or_create(saved_search=search, entry_kind=kind, entry_id=entry_id)
            if new:
                created.append(alert)
        if created:
            saved_searches_matched.send(sender=kind, alerts=created)
    return created
