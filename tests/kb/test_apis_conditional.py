"""Conditional GET of the entry lists: ETag and Last-Modified; If-None-Match answers 304."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kb.content import entry_content
from kb.services.entries import entry_update
from tests.kb.test_apis_entries import make, publish

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_list_answers_304_until_something_in_it_changes(kind, civ, kor, moderator):
    entry = publish(make(kind, civ, title="First"), civ, moderator)
    url = reverse(f"kb-api:{kind}-list")
    client = kor.client
    first = client.get(url)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('W/"')
    assert first["Last-Modified"]
    assert "Accept-Language" in first["Vary"]

    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert client.get(url, HTTP_IF_NONE_MATCH='W/"other"').status_code == 200

    # Another filter, another user, another language: another representation.
    assert client.get(url, {"q": "x"})["ETag"] != etag
    assert civ.client.get(url)["ETag"] != etag
    assert client.get(url, HTTP_ACCEPT_LANGUAGE="fr")["ETag"] != etag
    # The browsable API's HTML is another representation of the same URL.
    html = client.get(url, HTTP_ACCEPT="text/html", HTTP_IF_NONE_MATCH=etag)
    assert html.status_code == 200
    assert html["ETag"] != etag
    assert "Accept" in first["Vary"]

    # An edit, an addition and a deletion each change it.
    entry_update(actor=civ.user, entry=entry, content=entry_content(entry, {"title": "Renamed"}))
    edited = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert edited.status_code == 200
    assert edited["ETag"] != etag
    added = publish(make(kind, civ, title="Second"), civ, moderator)
    after_add = client.get(url, HTTP_IF_NONE_MATCH=edited["ETag"])
    assert after_add.status_code == 200
    assert added.pk

    # The owner sees their draft; deleting it changes the owner's ETag.
    draft = make(kind, civ, title="Draft")
    with_draft = civ.client.get(url)["ETag"]
    assert civ.client.delete(reverse(f"kb-api:{kind}-detail", kwargs={"pk": draft.pk})).status_code == 204
    assert civ.client.get(url, HTTP_IF_NONE_MATCH=with_draft).status_code == 200


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_another_states_draft_never_changes_my_etag(kind, civ, kor, moderator):
    publish(make(kind, civ, title="Public"), civ, moderator)
    url = reverse(f"kb-api:{kind}-list")
    mine = kor.client.get(url)["ETag"]
    owners = civ.client.get(url)["ETag"]

    draft = make(kind, civ, title="Draft")
    entry_update(actor=civ.user, entry=draft, content=entry_content(draft, {"title": "Draft, edited"}))
    # The owner's list changed; the other State's did not, so its ETag still validates.
    assert civ.client.get(url, HTTP_IF_NONE_MATCH=owners).status_code == 200
    not_modified = kor.client.get(url, HTTP_IF_NONE_MATCH=mine)
    assert not_modified.status_code == 304
    assert not_modified["ETag"] == mine
    assert "Cookie" in not_modified["Vary"]
    # Nor does its detail: a 404 for the other State, with no validator.
    hidden = kor.client.get(reverse(f"kb-api:{kind}-detail", kwargs={"pk": draft.pk}))
    assert hidden.status_code == 404
    assert "ETag" not in hidden


@pytest.mark.parametrize("kind", ["offer", "need"])
def test_detail_answers_304_until_the_entry_changes(kind, civ, kor, moderator):
    entry = publish(make(kind, civ, title="First"), civ, moderator)
    url = reverse(f"kb-api:{kind}-detail", kwargs={"pk": entry.pk})
    first = kor.client.get(url)
    assert first.status_code == 200
    assert first.json()["title"] == "First"
    etag = first["ETag"]
    assert kor.client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # The owner's representation (allowed actions, pending changes) is another one.
    assert civ.client.get(url)["ETag"] != etag

    # Changes proposed on a published entry: the owner sees them, so the owner's ETag moves.
    owners = civ.client.get(url)["ETag"]
    entry_update(actor=civ.user, entry=entry, content=entry_content(entry, {"title": "Proposed"}))
    changed = civ.client.get(url, HTTP_IF_NONE_MATCH=owners)
    assert changed.status_code == 200
    assert changed.json()["pending_changes"]
    assert changed["ETag"] != owners

    # A malformed or unknown id is the usual error, not a validator.
    missing = kor.client.get(reverse(f"kb-api:{kind}-detail", kwargs={"pk": 999999}), HTTP_IF_NONE_MATCH=etag)
    assert missing.status_code == 404


def test_the_list_counts_once_and_counts_distinct_entries(civ):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from kb.models import UncacArticle

    # Two articles of one chapter: the chapter filter's join sees the entry twice.
    make("offer", civ, title="Two articles", articles=[8, 9])
    make("offer", civ, title="Another", articles=[8])
    chapter = UncacArticle.objects.get(number=8).chapter_id
    assert UncacArticle.objects.get(number=9).chapter_id == chapter
    url = reverse("kb-api:offer-list")
    with CaptureQueriesContext(connection) as queries:
        body = civ.client.get(url, {"chapter": chapter, "page_size": 1}).json()
    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert sum("COUNT(" in q["sql"].upper() for q in queries.captured_queries) == 1
    assert civ.client.get(url, {"chapter": chapter, "page": 3, "page_size": 1}).status_code == 404
