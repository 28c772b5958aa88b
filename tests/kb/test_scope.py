"""Who acts for whom has one home (``kb.selectors.UserScope``): the API's ``mine`` filter, the web's
"My entries", the home page and the engagement lists all use it, and agree."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from kb.models import AssistanceNeed, Country, EntryStatus, ExpertiseOffer
from kb.selectors import user_scope
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries(civ, kor):
    return {
        "own_offer": OfferFactory(organisation=civ.organisation, title="CIV own offer"),
        "own_need": NeedFactory(organisation=civ.organisation, country=civ.organisation.country, title="CIV own need"),
        # A need of the State itself, with no organisation: Côte d'Ivoire's recipient focal points act for it.
        "state_need": NeedFactory(organisation=None, country=Country.objects.get(iso3="CIV"), title="CIV State need"),
        "other_offer": OfferFactory(organisation=kor.organisation, title="KOR offer", status=EntryStatus.PUBLISHED),
        "other_need": NeedFactory(organisation=kor.organisation, country=kor.organisation.country, title="KOR need"),
    }


def test_owns_covers_the_organisations_entries_and_the_states_own_needs(civ, entries):
    scope = user_scope(civ.user)
    offers = set(ExpertiseOffer.objects.filter(scope.owns(ExpertiseOffer)).values_list("title", flat=True))
    needs = set(AssistanceNeed.objects.filter(scope.owns(AssistanceNeed)).values_list("title", flat=True))
    assert offers == {"CIV own offer"}
    assert needs == {"CIV own need", "CIV State need"}


def test_provider_only_focal_point_does_not_act_for_the_states_needs(bra_provider):
    NeedFactory(organisation=None, country=Country.objects.get(iso3="BRA"), title="BRA State need")
    scope = user_scope(bra_provider.user)
    assert not AssistanceNeed.objects.filter(scope.acts_as_recipient(prefix="")).exists()


def test_api_mine_and_web_my_entries_list_the_same_entries(civ, entries):
    api = {
        kind: {row["title"] for row in civ.client.get(f"/api/v1/{kind}s/?mine=true").json()["results"]}
        for kind in ("offer", "need")
    }
    browser = Client()
    browser.force_login(civ.user)
    page = browser.get(reverse("web:my-entries")).content.decode()

    assert api == {"offer": {"CIV own offer"}, "need": {"CIV own need", "CIV State need"}}
    for title in api["offer"] | api["need"]:
        assert title in page
    for title in ("KOR offer", "KOR need"):
        assert title not in page
