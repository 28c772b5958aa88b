"""The provider's side: every proposal is visible to the offer's focal points from the moment it
is made, who can answer first ("I can help" or decline), and the recipient is told."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from kb.models import Language
from matching.models import Engagement, EngagementState, MatchCandidate, MatchRun, Notification
from matching.services.engagements import allowed_engagement_actions, engagement_offer_help, engagement_transition
from tests.conftest import _focal_point
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db

E = EngagementState


@pytest.fixture
def proposal(civ, db):
    """A proposal (as matching makes it) of a Rwandan offer for a need of Côte d'Ivoire."""
    rwa = _focal_point("RWA", provider=True, recipient=False)
    need = NeedFactory(
        organisation=civ.organisation,
        country=civ.organisation.country,
        language=Language.objects.get(code="fr"),
        published=True,
    )
    offer = OfferFactory(organisation=rwa.organisation, published=True, capacity=2)
    run = MatchRun.objects.create(trigger="command", status="completed")
    candidate = MatchCandidate.objects.create(
        run=run,
        need=need,
        offer=offer,
        rank=1,
        score=0.734,
        reasons=[{"code": "south_south"}],
        south_south=True,
        assigned=True,
    )
    engagement = Engagement.objects.create(
        need=need,
        offer=offer,
        candidate=candidate,
        score=candidate.score,
        south_south=True,
        need_title=need.title,
        offer_title=offer.title,
        state=E.PROPOSED,
    )
    return civ, rwa, engagement


def test_the_provider_sees_a_proposal_in_its_inbox_with_state_score_and_reasons(proposal):
    recipient, provider, engagement = proposal
    browser = Client()
    browser.force_login(provider.user)
    page = browser.get(reverse("web:inbox")).content.decode()
    assert engagement.need_title in page
    assert escape(engagement.need.country.display_name) in page
    assert "0.73" in page
    assert "I can help" in page
    assert reverse("web:engagement-act", args=[engagement.pk, "accept"]) in page
    assert reverse("web:engagement-act", args=[engagement.pk, "decline"]) in page
    # and on the engagement's own page, the answer is "I can help"
    assert "I can help" in browser.get(reverse("web:engagement", args=[engagement.pk])).content.decode()


def test_the_provider_can_help_before_the_recipient_reacts(proposal, django_capture_on_commit_callbacks):
    recipient, provider, engagement = proposal
    assert set(allowed_engagement_actions(provider.user, engagement)) == {"accept", "decline"}
    assert set(allowed_engagement_actions(recipient.user, engagement)) == {"interest", "dismiss"}
    browser = Client()
    browser.force_login(provider.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("web:engagement-act", args=[engagement.pk, "accept"]))
    assert response.status_code == 302
    engagement.refresh_from_db()
    assert engagement.state == E.ACCEPTED
    assert engagement.accepted_at is not None
    notification = Notification.objects.get(user=recipient.user)
    assert notification.kind == "engagement_can_help"
    assert not Notification.objects.filter(user=provider.user).exists()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [recipient.user.email]
    assert engagement.offer_title in message.subject
    assert settings.SITE_URL.rstrip("/") + reverse("web:engagement", args=[engagement.pk]) in message.body
    # The recipient confirms the agreement (or cancels, with a reason).
    assert set(allowed_engagement_actions(recipient.user, engagement)) == {"agree", "cancel"}
    engagement = engagement_transition(actor=recipient.user, engagement=engagement, action="agree")
    assert engagement.state == E.AGREED


def test_the_provider_can_decline_a_proposal_with_a_reason(proposal, django_capture_on_commit_callbacks):
    recipient, provider, engagement = proposal
    browser = Client()
    browser.force_login(provider.user)
    browser.post(reverse("web:engagement-act", args=[engagement.pk, "decline"]), {"reason": " "})
    engagement.refresh_from_db()
    assert engagement.state == E.PROPOSED  # a reason is required
    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("web:engagement-act", args=[engagement.pk, "decline"]), {"reason": "No trainer free"})
    engagement.refresh_from_db()
    assert (engagement.state, engagement.last_reason) == (E.DECLINED, "No trainer free")
    assert Notification.objects.get(user=recipient.user).kind == "engagement_decline"
    assert "No trainer free" in mail.outbox[0].body


def test_an_accepted_proposal_is_no_longer_supersedable(proposal):
    from matching.services.proposals import _supersede

    recipient, provider, engagement = proposal
    engagement = engagement_transition(actor=provider.user, engagement=engagement, action="accept")
    _supersede({engagement.pk: "below_cutoff"})
    engagement.refresh_from_db()
    assert engagement.state == E.ACCEPTED


def test_another_states_provider_neither_sees_nor_answers_the_proposal(proposal, kor):
    recipient, provider, engagement = proposal
    browser = Client()
    browser.force_login(kor.user)
    assert engagement.need_title not in browser.get(reverse("web:inbox")).content.decode()
    assert browser.post(reverse("web:engagement-act", args=[engagement.pk, "accept"])).status_code == 404
    engagement.refresh_from_db()
    assert engagement.state == E.PROPOSED


# --- help offered by the provider ----------------------------------------------------------------


@pytest.fixture
def need_and_offer(civ, db):
    """A published need of Côte d'Ivoire and a published Rwandan offer nobody matched yet."""
    rwa = _focal_point("RWA", provider=True, recipient=False)
    need = NeedFactory(organisation=civ.organisation, country=civ.organisation.country, published=True)
    offer = OfferFactory(organisation=rwa.organisation, published=True, capacity=1)
    return civ, rwa, need, offer


def test_a_provider_offers_help_from_the_needs_page(need_and_offer, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = need_and_offer
    browser = Client()
    browser.force_login(provider.user)
    page = browser.get(reverse("web:entry", kwargs={"kind": "need", "pk": need.pk})).content.decode()
    assert reverse("web:offer-help", args=[need.pk]) in page
    assert f'value="{offer.pk}"' in page
    with django_capture_on_commit_callbacks(execute=True):
        response = browser.post(reverse("web:offer-help", args=[need.pk]), {"offer": offer.pk})
    engagement = Engagement.objects.get(need=need, offer=offer)
    assert response.url == reverse("web:engagement", args=[engagement.pk])
    assert engagement.state == E.OFFERED
    assert engagement.events.get().action == "offer"
    assert Notification.objects.get(user=recipient.user).kind == "engagement_offer"
    assert settings.SITE_URL.rstrip("/") + reverse("web:engagement", args=[engagement.pk]) in mail.outbox[0].body
    # It holds the offer's capacity (1): no second offer of help with it.
    other = NeedFactory(organisation=recipient.organisation, country=recipient.organisation.country, published=True)
    with pytest.raises(ValidationError) as excinfo:
        engagement_offer_help(actor=provider.user, need=other, offer=offer)
    assert "offer" in excinfo.value.message_dict
    # The recipient sees it in the inbox and accepts: both are agreed, the provider is told.
    recipient_browser = Client()
    recipient_browser.force_login(recipient.user)
    assert engagement.offer_title in recipient_browser.get(reverse("web:inbox")).content.decode()
    assert set(allowed_engagement_actions(recipient.user, engagement)) == {"agree", "dismiss"}
    assert set(allowed_engagement_actions(provider.user, engagement)) == {"cancel"}
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        recipient_browser.post(reverse("web:engagement-act", args=[engagement.pk, "agree"]))
    engagement.refresh_from_db()
    assert engagement.state == E.AGREED
    assert Notification.objects.filter(user=provider.user, kind="engagement_agree").exists()
    assert mail.outbox[0].to == [provider.user.email]


def test_the_recipient_declines_help_offered_and_the_capacity_is_free_again(need_and_offer):
    recipient, provider, need, offer = need_and_offer
    engagement = engagement_offer_help(actor=provider.user, need=need, offer=offer)
    engagement = engagement_transition(actor=recipient.user, engagement=engagement, action="dismiss")
    assert engagement.state == E.DISMISSED
    assert Notification.objects.filter(user=provider.user, kind="engagement_dismiss").exists()
    other = NeedFactory(organisation=recipient.organisation, country=recipient.organisation.country, published=True)
    assert engagement_offer_help(actor=provider.user, need=other, offer=offer).state == E.OFFERED


def test_offering_help_on_a_proposed_pair_answers_the_proposal(proposal):
    recipient, provider, engagement = proposal
    answered = engagement_offer_help(actor=provider.user, need=engagement.need, offer=engagement.offer)
    assert (answered.pk, answered.state) == (engagement.pk, E.ACCEPTED)


def test_offer_help_api_and_its_cross_state_refusals(need_and_offer, kor, moderator):
    from rest_framework.test import APIClient

    from kb.services.moderation import entry_transition as entry_move

    recipient, provider, need, offer = need_and_offer
    url = reverse("matching-api:need-offer-help", args=[need.pk])
    # Another State's focal point cannot offer help on behalf of the Rwandan organisation.
    api = APIClient()
    api.force_authenticate(kor.user)
    assert api.post(url, {"offer": offer.pk}, format="json").status_code == 403
    assert not Engagement.objects.exists()
    # The provider can.
    api.force_authenticate(provider.user)
    answer = api.post(url, {"offer": offer.pk}, format="json")
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["state"] == "offered"
    # Another State cannot see or act on the engagement: 404, on the API and the web.
    api.force_authenticate(kor.user)
    assert api.get(reverse("matching-api:engagement-detail", args=[body["id"]])).status_code == 404
    assert api.post(reverse("matching-api:engagement-agree", args=[body["id"]])).status_code == 404
    browser = Client()
    browser.force_login(kor.user)
    assert browser.get(reverse("web:engagement", args=[body["id"]])).status_code == 404
    assert browser.post(reverse("web:engagement-act", args=[body["id"], "agree"])).status_code == 404
    # An unpublished need: a clear error naming the need (for those who can see it), and
    # invisible to another State's provider.
    draft = NeedFactory(organisation=recipient.organisation, country=recipient.organisation.country)
    assert draft.status != "published"
    api.force_authenticate(provider.user)
    assert api.post(reverse("matching-api:need-offer-help", args=[draft.pk]), {"offer": offer.pk}).status_code == 404
    with pytest.raises(ValidationError) as excinfo:
        engagement_offer_help(actor=provider.user, need=draft, offer=offer)
    assert excinfo.value.message_dict["need"] == ["Help can only be offered on a published need."]
    api.force_authenticate(moderator.user)
    answer = api.post(reverse("matching-api:need-offer-help", args=[draft.pk]), {"offer": offer.pk}, format="json")
    assert answer.status_code == 400
    assert "published need" in answer.content.decode()
    # A need taken down after the offer of help: nothing moves (paused).
    entry_move(actor=moderator.user, entry=need, action="unpublish", reason="Outdated")
    engagement = Engagement.objects.get(pk=body["id"])
    assert allowed_engagement_actions(recipient.user, engagement) == []
