"""The rules of "what waits for whom" at their one home (``matching.selectors``, and
``matching.services.collaboration.engagement_abilities`` for what a user may do with an
engagement): the inbox, the home page, the entry page and the API all read them from there.

Every rule is pinned for its own side, the other side, and another State's focal point, who sees
none of it."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from kb.models import Country
from matching.models import (
    Engagement,
    EngagementRating,
    EngagementState,
    MatchCandidate,
    MatchRun,
    NeedOutcome,
    RatingSide,
)
from matching.selectors import (
    engagements_by_pair,
    engagements_of_provider,
    engagements_offered_to_recipient,
    engagements_proposed_to_recipient,
    engagements_waiting_for_answer,
    need_candidates_can_view,
    need_candidates_for_user,
    needs_answered_as_recipient,
    offer_capacity_left,
    offers_of_provider,
    offers_to_help_with,
)
from matching.services.collaboration import engagement_abilities
from tests.conftest import _focal_point
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db

E = EngagementState


def _engagement(need, offer, state, **extra) -> Engagement:
    return Engagement.objects.create(
        need=need, offer=offer, state=state, need_title=need.title, offer_title=offer.title, **extra
    )


@pytest.fixture
def world(civ, kor, moderator):
    """Côte d'Ivoire needs help (one need of its agency, one of the State itself, a draft);
    Rwanda provides (two published offers, a draft); Korea is another State altogether."""
    rwa = _focal_point("RWA", provider=True, recipient=False)
    civ_country = Country.objects.get(iso3="CIV")
    need = NeedFactory(organisation=civ.organisation, published=True)
    state_need = NeedFactory(organisation=None, country=civ_country, published=True)
    draft_need = NeedFactory(organisation=civ.organisation)
    offer = OfferFactory(organisation=rwa.organisation, published=True, title="B offer", capacity=2)
    other_offer = OfferFactory(organisation=rwa.organisation, published=True, title="A offer")
    draft_offer = OfferFactory(organisation=rwa.organisation)
    civ_offer = OfferFactory(organisation=civ.organisation, published=True)  # CIV provides too
    return {
        "civ": civ,
        "rwa": rwa,
        "kor": kor,
        "moderator": moderator,
        "need": need,
        "state_need": state_need,
        "draft_need": draft_need,
        "offer": offer,
        "other_offer": other_offer,
        "draft_offer": draft_offer,
        "civ_offer": civ_offer,
    }


def test_the_needs_a_recipient_answers_for_are_its_published_ones_and_its_states(world):
    civ, kor, rwa = world["civ"], world["kor"], world["rwa"]
    assert set(needs_answered_as_recipient(user=civ.user)) == {world["need"], world["state_need"]}
    assert list(needs_answered_as_recipient(user=rwa.user)) == [], "a provider-only focal point answers for none"
    assert list(needs_answered_as_recipient(user=kor.user)) == [], "another State's focal point sees none"


def test_the_provider_sees_every_engagement_on_its_offers_proposals_first(world):
    need, offer, other = world["need"], world["offer"], world["other_offer"]
    accepted = _engagement(need, other, E.ACCEPTED)
    proposed = _engagement(world["state_need"], offer, E.PROPOSED)
    assert list(engagements_of_provider(user=world["rwa"].user)) == [proposed, accepted]
    assert list(engagements_of_provider(user=world["civ"].user)) == [], "the recipient provides none of them"
    assert list(engagements_of_provider(user=world["kor"].user)) == []


def test_help_offered_waits_for_the_recipient_of_the_need(world):
    offered = _engagement(world["state_need"], world["offer"], E.OFFERED)
    _engagement(world["need"], world["other_offer"], E.PROPOSED)
    assert list(engagements_offered_to_recipient(user=world["civ"].user)) == [offered]
    assert list(engagements_offered_to_recipient(user=world["rwa"].user)) == [], "the provider waits, not answers"
    assert list(engagements_offered_to_recipient(user=world["kor"].user)) == []


def test_what_waits_for_each_side_on_the_home_page(world):
    civ, rwa, kor = world["civ"].user, world["rwa"].user, world["kor"].user
    proposed = _engagement(world["need"], world["offer"], E.PROPOSED)
    interested = _engagement(world["need"], world["other_offer"], E.INTERESTED)
    accepted = _engagement(world["state_need"], world["offer"], E.ACCEPTED)
    assert list(engagements_proposed_to_recipient(user=civ)) == [proposed]
    assert list(engagements_proposed_to_recipient(user=rwa)) == []
    assert set(engagements_waiting_for_answer(user=civ)) == {accepted}, "the recipient confirms an acceptance"
    assert set(engagements_waiting_for_answer(user=rwa)) == {interested}, "the provider answers an interest"
    assert list(engagements_proposed_to_recipient(user=kor)) == []
    assert list(engagements_waiting_for_answer(user=kor)) == []
    assert set(engagements_by_pair(user=civ)) == {
        (world["need"].pk, world["offer"].pk),
        (world["need"].pk, world["other_offer"].pk),
        (world["state_need"].pk, world["offer"].pk),
    }
    assert engagements_by_pair(user=kor) == {}


def test_the_offers_a_provider_may_offer_help_with(world):
    rwa, civ, kor = world["rwa"].user, world["civ"].user, world["kor"].user
    need = world["need"]
    assert set(offers_of_provider(user=rwa)) == {world["offer"], world["other_offer"]}, "published ones only"
    assert list(offers_to_help_with(user=rwa, need=need)) == [world["other_offer"], world["offer"]], "by title"
    assert list(offers_to_help_with(user=civ, need=need)) == [], "a State does not help itself"
    assert list(offers_to_help_with(user=kor, need=need)) == [], "Korea's agency has no published offer"
    kor_offer = OfferFactory(organisation=world["kor"].organisation, published=True)
    assert list(offers_to_help_with(user=kor, need=need)) == [kor_offer], "its own offers, never Rwanda's"
    assert set(offers_of_provider(user=kor)) == {kor_offer}
    assert list(offers_to_help_with(user=rwa, need=world["draft_need"])) == [], "only on a published need"


def test_capacity_left_counts_the_engagements_accepted_this_year(world):
    offer = world["offer"]
    assert offer_capacity_left(offer) == 2
    _engagement(world["need"], offer, E.ACCEPTED, accepted_at=offer.updated_at.replace(month=1, day=1))
    assert offer_capacity_left(offer) == 1


def test_a_needs_candidates_are_its_focal_points_and_moderators_on_web_and_api(world):
    need, offer = world["need"], world["offer"]
    run = MatchRun.objects.create(trigger="command", status="completed")
    candidate = MatchCandidate.objects.create(run=run, need=need, offer=offer, rank=1, score=0.5, reasons=[])
    NeedOutcome.objects.create(run=run, need=need, providers_wanted=1, providers_assigned=1)
    for actor in (world["civ"], world["moderator"]):
        assert need_candidates_can_view(user=actor.user, need=need)
        assert list(need_candidates_for_user(user=actor.user, need=need)) == [candidate]
    for actor in (world["rwa"], world["kor"]):  # both may read the published need, not its matches
        assert not need_candidates_can_view(user=actor.user, need=need)
        with pytest.raises(PermissionDenied):
            need_candidates_for_user(user=actor.user, need=need)
        browser = Client()
        browser.force_login(actor.user)
        assert browser.get(reverse("web:need-matches", args=[need.pk])).status_code == 403
        answer = actor.client.get(f"/api/v1/needs/{need.pk}/candidates/")
        assert answer.status_code == 403
        assert "focal points and moderators" in answer.json()["errors"][0]["detail"]


def test_what_each_side_may_do_with_an_engagement(world):
    civ, rwa, kor, moderator = (world[k].user for k in ("civ", "rwa", "kor", "moderator"))
    engagement = _engagement(world["need"], world["offer"], E.ACCEPTED)
    for user in (civ, rwa, moderator):
        can = engagement_abilities(user=user, engagement=engagement)
        assert can.can_set_dates
        assert not can.can_record_outcome
        assert not can.can_rate
    assert engagement_abilities(user=civ, engagement=engagement).actions == ["agree", "cancel"]
    assert engagement_abilities(user=rwa, engagement=engagement).actions == ["cancel"]
    nothing = engagement_abilities(user=kor, engagement=engagement)
    assert nothing.actions == []
    assert not nothing.can_set_dates
    assert not nothing.can_record_outcome
    assert not nothing.can_rate

    engagement.state = E.COMPLETED
    engagement.save()
    for user in (civ, rwa):
        can = engagement_abilities(user=user, engagement=engagement)
        assert can.can_record_outcome
        assert can.can_rate
        assert not can.can_set_dates
    assert not engagement_abilities(user=moderator, engagement=engagement).can_rate, "moderators rate no side"
    assert engagement_abilities(user=moderator, engagement=engagement).can_record_outcome
    EngagementRating.objects.create(engagement=engagement, side=RatingSide.RECIPIENT, score=4, rated_by=civ)
    engagement = Engagement.objects.get(pk=engagement.pk)
    assert not engagement_abilities(user=civ, engagement=engagement).can_rate, "the recipient's side has rated"
    assert engagement_abilities(user=rwa, engagement=engagement).can_rate
    kor_can = engagement_abilities(user=kor, engagement=engagement)
    assert not kor_can.can_record_outcome
    assert not kor_can.can_rate


def test_a_replacement_is_the_recipients_to_see_and_a_taken_down_entry_pauses(world):
    civ, rwa, kor = world["civ"].user, world["rwa"].user, world["kor"].user
    replacement = _engagement(world["need"], world["civ_offer"], E.PROPOSED)
    superseded = _engagement(world["need"], world["offer"], E.SUPERSEDED, replaced_by=replacement)
    assert engagement_abilities(user=civ, engagement=superseded).sees_replacement
    assert not engagement_abilities(user=rwa, engagement=superseded).sees_replacement, "another provider's pair"
    assert not engagement_abilities(user=kor, engagement=superseded).sees_replacement
    assert not engagement_abilities(user=civ, engagement=superseded).paused
    world["offer"].status = "archived"
    world["offer"].save()
    superseded = Engagement.objects.get(pk=superseded.pk)
    assert engagement_abilities(user=civ, engagement=superseded).paused
