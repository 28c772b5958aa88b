"""Saved searches and their alerts: a newly published entry that matches a saved search notifies
its owner once (however often it is indexed again); drafts never alert; the API and the pages
save, list and delete only the caller's own searches."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from rest_framework import serializers

from kb.content import entry_content
from kb.models import SavedSearch, SavedSearchAlert
from kb.search.params import search_params_parse, search_params_parse_nested
from kb.search.sync import search_repair, search_sync_entries
from kb.services.entries import entry_update, offer_create
from kb.services.moderation import entry_transition
from kb.services.saved_searches import saved_search_create
from matching.models import Notification
from matching.services.notifications import notification_email_text

pytestmark = pytest.mark.django_db

OFFER = {
    "title": "Whistle-blower protection programme",
    "description": "Protecting reporting persons in public bodies.",
    "language": "en",
    "articles": [33],
    "ta_types": ["legislative_assistance"],
}
OTHER = {**OFFER, "title": "Asset declarations", "description": "Verifying what officials own."}


def _draft(author, data, commit):
    with commit(execute=True):
        return offer_create(actor=author.user, organisation=author.organisation, content=entry_content("offer", data))


def _publish(entry, author, moderator, commit):
    with commit(execute=True):
        entry = entry_transition(actor=author.user, entry=entry, action="submit")
    with commit(execute=True):
        return entry_transition(actor=moderator.user, entry=entry, action="publish")


def _save(user, name, **query):
    """Save a search given as the search parameters (q, type, facets), parsed as every path parses them."""
    return saved_search_create(user=user, name=name, params=search_params_parse(query))


def _alerts(user):
    return list(Notification.objects.filter(user=user, kind="saved_search_match").values_list("params", flat=True))


def test_a_newly_published_match_alerts_its_owner_once_and_drafts_never(
    search_backend, civ, kor, moderator, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    search = _save(kor.user, "Whistle-blowers", q="whistle-blower protection")
    offer = _draft(civ, OFFER, commit)
    with commit(execute=True):
        entry_update(
            actor=civ.user, entry=offer, content=entry_content(offer, {"description": "Protecting whistle-blowers."})
        )
    assert not SavedSearchAlert.objects.exists()  # indexed twice as a draft: no alert
    other = _publish(_draft(civ, OTHER, commit), civ, moderator, commit)
    assert not SavedSearchAlert.objects.exists()  # published, but no match
    offer = _publish(offer, civ, moderator, commit)
    alert = SavedSearchAlert.objects.get()
    assert (alert.saved_search, alert.entry_kind, alert.entry_id) == (search, "offer", offer.pk)
    assert _alerts(kor.user) == [
        {"entry_kind": "offer", "entry_id": offer.pk, "title": OFFER["title"], "search": "Whistle-blowers"}
    ]
    assert [m.to for m in mail.outbox if "Whistle-blowers" in m.subject] == [[kor.user.email]]
    # indexed again (a re-delivered task, a repair, approved changes): still one alert
    search_sync_entries(kind="offer", entry_ids=[offer.pk, other.pk])
    search_repair()
    with commit(execute=True):
        entry_update(
            actor=civ.user,
            entry=offer,
            content=entry_content(offer, {"title": "Whistle-blower protection, second edition"}),
        )
    with commit(execute=True):
        entry_transition(actor=moderator.user, entry=offer, action="publish")
    assert SavedSearchAlert.objects.count() == 1
    assert len(_alerts(kor.user)) == 1
    assert not _alerts(civ.user)  # nobody else hears of it


def test_the_alert_email_links_to_the_entry(
    search_backend, civ, kor, moderator, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://ta.example.org"
    _save(kor.user, "Whistle-blowers", q="whistle-blower")
    offer = _publish(
        _draft(civ, OFFER, django_capture_on_commit_callbacks), civ, moderator, django_capture_on_commit_callbacks
    )
    notification = Notification.objects.get(user=kor.user, kind="saved_search_match")
    subject, body = notification_email_text(notification)
    assert "Whistle-blowers" in subject
    assert OFFER["title"] in subject
    assert f"https://ta.example.org{reverse('web:entry', args=['offer', offer.pk])}" in body


def test_facets_and_kind_narrow_the_alerts(search_backend, civ, kor, moderator, django_capture_on_commit_callbacks):
    commit = django_capture_on_commit_callbacks
    _save(kor.user, "Korea only", country=["KOR"])
    _save(kor.user, "Needs only", type="needs")
    everything = _save(kor.user, "Everything Ivorian", country=["CIV"])
    offer = _publish(_draft(civ, OFFER, commit), civ, moderator, commit)
    assert list(SavedSearchAlert.objects.values_list("saved_search", "entry_id")) == [(everything.pk, offer.pk)]


def test_entries_published_before_the_search_was_saved_do_not_alert(
    search_backend, civ, kor, moderator, django_capture_on_commit_callbacks
):
    commit = django_capture_on_commit_callbacks
    offer = _publish(_draft(civ, OFFER, commit), civ, moderator, commit)
    _save(kor.user, "Whistle-blowers", q="whistle-blower")
    search_sync_entries(kind="offer", entry_ids=[offer.pk])
    assert not SavedSearchAlert.objects.exists()


def test_saving_validates_each_field_by_name(kor):
    # What is searched: the search parameters' parser, by field (a saved search's body nests the facets).
    with pytest.raises(serializers.ValidationError) as refused:
        search_params_parse_nested(filters={"owner": ["org:1"]})
    assert set(refused.value.detail) == {"filters"}
    with pytest.raises(serializers.ValidationError) as refused:
        search_params_parse_nested(search_type="people")
    assert set(refused.value.detail) == {"type"}
    with pytest.raises(serializers.ValidationError) as refused:
        search_params_parse_nested(filters={"country": ["x" * 65]})
    assert set(refused.value.detail) == {"filters"}
    assert set(refused.value.detail["filters"]) == {"country"}
    # The saved search itself: its name.
    _save(kor.user, "Same")
    with pytest.raises(ValidationError) as error:
        _save(kor.user, "Same")
    assert set(error.value.message_dict) == {"name"}
    with pytest.raises(ValidationError) as error:
        _save(kor.user, "nul\x00")
    assert set(error.value.message_dict) == {"name"}


def test_the_api_saves_lists_and_deletes_only_the_callers_searches(civ, kor, anonymous_client):
    url = reverse("kb-api:saved-search-list")
    response = kor.client.post(
        url, {"name": "Whistle", "q": "whistle-blower", "type": "offers", "filters": {"article": ["33"]}}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["q"], body["type"], body["filters"]) == ("whistle-blower", "offers", {"article": ["33"]})
    assert "q=whistle-blower" in body["search_url"]
    assert [s["name"] for s in kor.client.get(url).json()["results"]] == ["Whistle"]
    detail = reverse("kb-api:saved-search-detail", args=[body["id"]])
    assert civ.client.get(detail).status_code == 404
    assert civ.client.delete(detail).status_code == 404
    assert civ.client.get(url).json()["results"] == []
    assert anonymous_client.get(url).status_code == 401
    refused = kor.client.post(url, {"name": "Bad", "filters": {"owners": ["org:1"]}}, format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "filters"
    assert kor.client.delete(detail).status_code == 204
    assert not SavedSearch.objects.exists()


def test_browse_saves_the_search_and_the_account_page_lists_and_deletes_it(kor, search_backend):
    browser = Client()
    browser.force_login(kor.user)
    page = browser.get(reverse("web:browse"), {"q": "whistle", "article": "33"}).content.decode()
    assert reverse("web:saved-search-save") in page
    response = browser.post(
        reverse("web:saved-search-save"), {"q": "whistle", "kind": "need", "article": "33", "name": "Reporting"}
    )
    search = SavedSearch.objects.get()
    assert (search.user, search.text, search.kind, search.filters) == (kor.user, "whistle", "need", {"article": ["33"]})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:browse") + "?")
    account = browser.get(reverse("web:account")).content.decode()
    assert "Reporting" in account
    browser.post(reverse("web:saved-search-delete", args=[search.pk]))
    assert not SavedSearch.objects.exists()


def test_another_users_saved_search_cannot_be_deleted_from_the_page(civ, kor):
    search = _save(kor.user, "Mine")
    browser = Client()
    browser.force_login(civ.user)
    assert browser.post(reverse("web:saved-search-delete", args=[search.pk])).status_code == 404
    assert SavedSearch.objects.filter(pk=search.pk).exists()


def test_many_matches_in_one_batch_are_one_notification(search_backend, civ, kor, moderator, settings):
    """A bulk load publishing many matching entries at once: one message, linking to the search."""
    from tests.factories import OfferFactory

    settings.SITE_URL = "https://ta.example.org"
    search = _save(kor.user, "Whistle-blowers", q="whistle-blower", type="offers")
    offers = [
        OfferFactory(organisation=civ.organisation, title=f"Whistle-blower hotline {n}", published=True)
        for n in range(3)
    ]
    search_sync_entries(kind="offer", entry_ids=[o.pk for o in offers])
    assert SavedSearchAlert.objects.filter(saved_search=search).count() == 3
    (notification,) = Notification.objects.filter(user=kor.user)
    subject, body = notification_email_text(notification)
    assert subject == "New entries for your saved search “Whistle-blowers”: 3"
    assert "https://ta.example.org/browse/?q=whistle-blower&kind=offer&sort=date" in body
