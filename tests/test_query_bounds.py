"""Bounded queries: the signed-in home page within 8 queries; lists and detail pages cost the same
whatever the number of rows (no per-row query). Each page is measured with a few rows and with
more: an N+1 shows as a difference."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from kb.services.moderation import entry_transition
from tests.kb.test_apis_entries import make

pytestmark = pytest.mark.django_db


def _published(kind, owner, moderator, n, start=0):
    entries = []
    for i in range(start, start + n):
        entry = make(kind, owner, title=f"{kind} {i}", articles=[8, 9], ta_types=["capacity_building"])
        entry_transition(actor=owner.user, entry=entry, action="submit")
        entries.append(entry_transition(actor=moderator.user, entry=entry, action="publish"))
    return entries


def _web(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def _count(client, url, params=None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url, params or {})
    assert response.status_code == 200, response.content[:500]
    return len(queries)


PAGES = {
    "api offers": lambda a: (a.client, reverse("kb-api:offer-list"), {"page_size": 50}),
    "api needs": lambda a: (a.client, reverse("kb-api:need-list"), {"page_size": 50}),
    "web browse offers": lambda a: (_web(a), reverse("web:browse"), {"kind": "offer"}),
    "web browse needs": lambda a: (_web(a), reverse("web:browse"), {"kind": "need"}),
    "web my entries": lambda a: (_web(a), reverse("web:my-entries"), {}),
}


@pytest.mark.parametrize("page", sorted(PAGES))
def test_lists_have_no_per_row_query(page, civ, moderator):
    for kind in ("offer", "need"):
        _published(kind, civ, moderator, 2)
    client, url, params = PAGES[page](civ)
    _count(client, url, params)  # warm the per-process caches
    few = _count(client, url, params)
    for kind in ("offer", "need"):
        _published(kind, civ, moderator, 6, start=2)
    many = _count(client, url, params)
    assert many == few, f"{page}: {few} queries with 2 rows of each kind, {many} with 8"


def test_signed_in_home_page_within_8_queries(civ, moderator, django_assert_max_num_queries):
    for kind in ("offer", "need"):
        _published(kind, civ, moderator, 5)
        for i in range(3):
            make(kind, civ, title=f"Draft {kind} {i}", articles=[8, 9], ta_types=["capacity_building"])
        sent_back = make(kind, civ, title=f"Returned {kind}", articles=[8])
        entry_transition(actor=civ.user, entry=sent_back, action="submit")
        entry_transition(actor=moderator.user, entry=sent_back, action="return", reason="More detail")
    client = _web(civ)
    client.get(reverse("web:home"))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("web:home"))
    assert response.status_code == 200
    data = response.context["data"]
    assert sorted(e.title for e in data.drafts) == sorted(f"Draft {k} {i}" for k in ("offer", "need") for i in range(3))
    assert sorted(e.title for e in data.returned) == ["Returned need", "Returned offer"]
    assert [e.updated_at for e in data.drafts] == sorted((e.updated_at for e in data.drafts), reverse=True)


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_detail_pages_bounded(kind, civ, moderator, django_assert_max_num_queries):
    few = _published(kind, civ, moderator, 1)[0]
    web = _web(civ)
    url = reverse("web:entry", kwargs={"kind": kind, "pk": few.pk})
    web.get(url)
    n = _count(web, url)
    rich = make(kind, civ, title="Many tags", articles=[5, 6, 7, 8, 9, 10], ta_types=["capacity_building"])
    assert _count(web, reverse("web:entry", kwargs={"kind": kind, "pk": rich.pk})) <= n
    api = reverse(f"kb-api:{kind}-detail", kwargs={"pk": few.pk})
    with django_assert_max_num_queries(12):
        assert civ.client.get(api).status_code == 200


def test_home_lists_the_engagements_waiting_for_each_side(civ, kor, moderator, django_assert_max_num_queries):
    from matching.services.engagements import engagement_express_interest

    need = _published("need", civ, moderator, 1)[0]
    offers = _published("offer", kor, moderator, 2)
    for offer in offers:
        engagement_express_interest(actor=civ.user, need=need, offer=offer)
    client = _web(kor)
    client.get(reverse("web:home"))
    with django_assert_max_num_queries(8):
        response = client.get(reverse("web:home"))
    data = response.context["data"]
    assert sorted(e.offer_id for e in data.to_answer) == sorted(o.pk for o in offers)
    assert data.new_proposals == []
    assert [e.offer_id for e in _web(civ).get(reverse("web:home")).context["data"].to_answer] == []
