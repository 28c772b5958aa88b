"""The contact person of an offer or a need: a member of the entry's organisation (never free
text), shown to signed-in users only, gone when the person leaves the organisation."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from kb.content import entry_content
from kb.interchange import entry_to_line
from kb.models import ExpertiseOffer
from kb.services.entries import entry_snapshot, entry_update, need_create, offer_create
from kb.services.moderation import entry_transition
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db

OFFER = {"title": "Asset declaration training", "description": "A week-long course.", "language": "en"}


def test_the_contact_is_a_member_of_the_entrys_organisation(civ, civ_colleague, kor):
    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {**OFFER, "contact_person": civ_colleague.user.email}),
    )
    assert offer.contact_person.user == civ_colleague.user
    assert entry_snapshot(offer)["contact_person"] == civ_colleague.user.email
    with pytest.raises(ValidationError) as error:
        entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"contact_person": kor.user.email}))
    assert set(error.value.message_dict) == {"contact_person"}
    with pytest.raises(ValidationError):
        entry_update(
            actor=civ.user, entry=offer, content=entry_content(offer, {"contact_person": "nobody@example.org"})
        )
    offer = entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"contact_person": None}))
    assert offer.contact_person is None


def test_a_states_need_takes_a_recipient_focal_point_of_that_state(civ, kor):
    need = need_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("need", {**OFFER, "contact_person": civ.user.email}),
    )
    assert need.contact_person.organisation == civ.organisation


def test_the_contact_is_cleared_when_the_person_leaves_the_organisation(civ, civ_colleague):
    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {**OFFER, "contact_person": civ_colleague.user.email}),
    )
    Membership.objects.filter(user=civ_colleague.user).delete()
    offer.refresh_from_db()
    assert offer.contact_person is None


def test_a_deactivated_contact_is_not_shown_nor_kept_in_an_edit(civ, civ_colleague, kor):
    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {**OFFER, "contact_person": civ_colleague.user.email}),
    )
    offer.status = "published"
    offer.save()
    civ_colleague.user.is_active = False
    civ_colleague.user.save()
    body = kor.client.get(reverse("kb-api:offer-detail", args=[offer.pk])).json()
    assert body["contact_person"] is None
    assert entry_snapshot(ExpertiseOffer.objects.get(pk=offer.pk))["contact_person"] is None


def test_pending_changes_naming_a_contact_who_left_are_still_approved(civ, civ_colleague, moderator):
    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {**OFFER, "articles": [5], "ta_types": []}),
    )
    offer.status = "published"
    offer.save()
    offer.ta_types.set([])
    from kb.models import TAType

    offer.ta_types.add(TAType.objects.first())
    offer = entry_update(
        actor=civ.user, entry=offer, content=entry_content(offer, {"contact_person": civ_colleague.user.email})
    )
    assert offer.pending_revision["contact_person"] == civ_colleague.user.email
    Membership.objects.filter(user=civ_colleague.user).delete()
    offer = entry_transition(actor=moderator.user, entry=offer, action="publish")
    offer.refresh_from_db()
    assert offer.contact_person is None
    assert offer.pending_revision is None


def test_the_api_shows_the_contact_to_signed_in_callers_only(civ, kor, anonymous_client):
    response = civ.client.post(
        reverse("kb-api:offer-list"),
        {**OFFER, "organisation": civ.organisation.pk, "contact_person": civ.user.email},
        format="json",
    )
    assert response.status_code == 201, response.json()
    offer_id = response.json()["id"]
    assert response.json()["contact_person"]["email"] == civ.user.email
    refused = civ.client.patch(
        reverse("kb-api:offer-detail", args=[offer_id]), {"contact_person": kor.user.email}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["attr"] == "contact_person"
    for path in (reverse("kb-api:offer-detail", args=[offer_id]), reverse("kb-api:offer-list")):
        response = anonymous_client.get(path)
        assert response.status_code == 401
        assert civ.user.email not in response.content.decode()


def test_the_entry_page_and_form_offer_the_organisations_members(civ, civ_colleague, kor):
    other = MembershipFactory(organisation=kor.organisation)
    browser = Client()
    browser.force_login(civ.user)
    form = browser.get(reverse("web:entry-create", args=["offer"])).content.decode()
    assert civ_colleague.user.email in form
    assert other.user.email not in form
    response = browser.post(
        reverse("web:entry-create", args=["offer"]),
        {**OFFER, "organisation": civ.organisation.pk, "capacity": 1, "cost_arrangement": "provider_funded",
         "contact_person": civ_colleague.user.email},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    offer = civ.organisation.offers.get()
    assert offer.contact_person.user == civ_colleague.user
    offer.status = "published"
    offer.save()
    reader = Client()
    reader.force_login(kor.user)
    page = reader.get(reverse("web:entry", args=["offer", offer.pk])).content.decode()
    assert "Contact person" in page
    assert civ_colleague.user.email in page
    assert Client().get(reverse("web:entry", args=["offer", offer.pk])).status_code == 302  # sign in first
    edit = browser.get(reverse("web:entry-edit", args=["offer", offer.pk])).content.decode()
    assert other.user.email not in edit


def test_the_contact_stays_out_of_the_interchange_format(civ):
    offer = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {**OFFER, "contact_person": civ.user.email}),
    )
    offer.status = "published"
    offer.save()
    line = entry_to_line(offer) or ""
    assert "contact_person" not in line
    assert civ.user.email not in line


def test_a_states_need_loses_a_contact_who_is_no_longer_a_recipient_focal_point(civ, kor):
    from kb.models import AssistanceNeed
    from kb.services.entries import need_create_unchecked

    need = need_create_unchecked(
        actor=civ.user,
        country=civ.organisation.country,
        organisation=None,
        content=entry_content("need", {**OFFER, "contact_person": civ.user.email}),
    )
    assert need.contact_person.user == civ.user
    need.status = "published"
    need.save()
    assert (
        kor.client.get(reverse("kb-api:need-detail", args=[need.pk])).json()["contact_person"]["email"]
        == civ.user.email
    )
    Membership.objects.filter(user=civ.user).update(is_recipient_focal_point=False, is_provider_focal_point=True)
    need = AssistanceNeed.objects.get(pk=need.pk)
    assert kor.client.get(reverse("kb-api:need-detail", args=[need.pk])).json()["contact_person"] is None
    assert entry_snapshot(need)["contact_person"] is None
