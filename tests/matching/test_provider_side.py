"""The provider's side: every proposal is visible to the offer's focal points from the moment it
is made, who can answer first ("I can help" or decline), and the recipient is told."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from kb.models import Language
from matching.models import Engagement, EngagementState, MatchCandidate, MatchRun, Notification
from matching.services.engagements import allowed_engagement_actions, engagement_transition
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
