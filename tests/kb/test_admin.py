"""The moderators' admin: queue order, bulk approve, bulk return with a reason, no N+1."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kb.content import entry_content
from kb.models import EntryEvent, EntryStatus, ExpertiseOffer
from kb.services.entries import offer_create
from kb.services.moderation import entry_transition
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _offers(civ, n, submit=True):
    offers = []
    for i in range(n):
        offer = offer_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content(
                "offer",
                {
                    "title": f"Offer {i}",
                    "description": "d",
                    "language": "en",
                    "articles": [8, 9],
                    "ta_types": ["capacity_building"],
                },
            ),
        )
        if submit:
            entry_transition(actor=civ.user, entry=offer, action="submit")
        offers.append(offer)
    return offers


@pytest.fixture
def admin_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator.user)
    return client


def test_focal_points_cannot_enter_the_admin(civ):
    client = Client()
    client.force_login(civ.user)
    assert client.get(reverse("admin:kb_expertiseoffer_changelist")).status_code == 302


def test_queue_lists_submitted_entries_first(admin_client, civ):
    drafts = _offers(civ, 2, submit=False)
    submitted = _offers(civ, 2)
    response = admin_client.get(reverse("admin:kb_expertiseoffer_changelist"))
    assert response.status_code == 200
    order = [obj.pk for obj in response.context["cl"].result_list]
    assert order[:2] == [submitted[0].pk, submitted[1].pk]
    assert set(order[2:]) == {d.pk for d in drafts}


def test_filters_by_state_region_chapter_and_queue(admin_client, civ):
    _offers(civ, 1)
    url = reverse("admin:kb_expertiseoffer_changelist")
    for params in (
        {"state": "CIV"},
        {"region": "002"},
        {"chapter": "2"},
        {"queue": "awaiting"},
        {"status__exact": "submitted"},
    ):
        response = admin_client.get(url, params)
        assert response.status_code == 200
        assert len(response.context["cl"].result_list) == 1, params
    assert len(admin_client.get(url, {"state": "KOR"}).context["cl"].result_list) == 0


def test_changelist_query_count_does_not_grow_with_rows(admin_client, civ, django_assert_max_num_queries):
    _offers(civ, 30)
    with django_assert_max_num_queries(25):
        response = admin_client.get(reverse("admin:kb_expertiseoffer_changelist"))
    assert len(response.context["cl"].result_list) == 30


def test_bulk_approve(admin_client, civ):
    offers = _offers(civ, 3)
    response = admin_client.post(
        reverse("admin:kb_expertiseoffer_changelist"),
        {"action": "approve_selected", "_selected_action": [o.pk for o in offers]},
        follow=True,
    )
    assert response.status_code == 200
    assert set(ExpertiseOffer.objects.values_list("status", flat=True)) == {EntryStatus.PUBLISHED}


def test_bulk_approve_is_all_or_nothing(admin_client, civ):
    offers = _offers(civ, 2) + _offers(civ, 1, submit=False)
    admin_client.post(
        reverse("admin:kb_expertiseoffer_changelist"),
        {"action": "approve_selected", "_selected_action": [o.pk for o in offers]},
        follow=True,
    )
    assert not ExpertiseOffer.objects.filter(status=EntryStatus.PUBLISHED).exists()


def test_bulk_return_asks_for_a_reason_first(admin_client, civ):
    offers = _offers(civ, 2)
    url = reverse("admin:kb_expertiseoffer_changelist")
    selection = {"action": "return_selected", "_selected_action": [o.pk for o in offers]}
    page = admin_client.post(url, selection)
    assert page.status_code == 200
    assert b"reason" in page.content.lower()
    assert set(ExpertiseOffer.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}

    empty = admin_client.post(url, {**selection, "apply": "1", "reason": "  "})
    assert empty.status_code == 200  # the form again, with an error
    assert set(ExpertiseOffer.objects.values_list("status", flat=True)) == {EntryStatus.SUBMITTED}

    admin_client.post(url, {**selection, "apply": "1", "reason": "Please add the target audience."}, follow=True)
    assert set(ExpertiseOffer.objects.values_list("status", flat=True)) == {EntryStatus.RETURNED}
    assert set(ExpertiseOffer.objects.values_list("moderation_reason", flat=True)) == {
        "Please add the target audience."
    }


def test_change_page_shows_history_and_content_is_read_only(admin_client, civ):
    offer = _offers(civ, 1)[0]
    response = admin_client.get(reverse("admin:kb_expertiseoffer_change", args=[offer.pk]))
    assert response.status_code == 200
    assert b"submit" in response.content
    assert 'name="title"' not in response.content.decode()
    assert EntryEvent.objects.filter(offer=offer).count() == 2


def test_moderators_can_add_thematic_areas(admin_client):
    response = admin_client.get(reverse("admin:kb_thematicarea_add"))
    assert response.status_code == 200
    assert b"label_fr" in response.content


@pytest.mark.parametrize(
    "model",
    ["kb_entryevent", "kb_searchoutbox", "matching_matchcandidate", "matching_needoutcome", "accounts_invitation"],
)
def test_records_the_application_writes_are_view_only(db, model):
    """Not even a superuser (who holds every permission) may add or edit them by hand."""
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    changelist = client.get(reverse(f"admin:{model}_changelist"))
    assert changelist.status_code == 200
    assert changelist.context["has_add_permission"] is False
    assert client.get(reverse(f"admin:{model}_add")).status_code == 403
