"""Engagements: every transition per role, illegal ones, capacity, ratings, notifications."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from core.state_machine import IllegalTransition, Role
from kb.content import entry_content
from matching.models import Engagement, EngagementEvent, EngagementState, Notification
from matching.services.engagements import (
    TRANSITIONS,
    EngagementAction,
    allowed_engagement_actions,
    engagement_express_interest,
    engagement_offer_help,
    engagement_rate,
    engagement_transition,
)
from tests.conftest import published_sides
from tests.factories import NeedFactory, OfferFactory

pytestmark = pytest.mark.django_db

E = EngagementState


@pytest.fixture
def sides(civ, db):
    """A published need of Côte d'Ivoire (civ's organisation) and a published Rwandan offer."""
    return published_sides(civ, capacity=1)


PATH = {
    E.PROPOSED: [],
    E.OFFERED: [],  # begun by the provider (engagement_offer_help), see bring_to
    E.INTERESTED: [("r", "interest")],
    E.DISMISSED: [("r", "dismiss")],
    E.ACCEPTED: [("r", "interest"), ("p", "accept")],
    E.DECLINED: [("r", "interest"), ("p", "decline")],
    E.AGREED: [("r", "interest"), ("p", "accept"), ("r", "agree")],
    E.IN_PROGRESS: [("r", "interest"), ("p", "accept"), ("r", "agree"), ("p", "start")],
    E.COMPLETED: [("r", "interest"), ("p", "accept"), ("r", "agree"), ("p", "start"), ("r", "complete")],
    E.CANCELLED: [("r", "interest"), ("p", "accept"), ("r", "cancel")],
    E.SUPERSEDED: [("r", "interest"), ("system", "supersede")],
}


def bring_to(state, recipient, provider, need, offer) -> Engagement:
    if state == E.OFFERED:
        return engagement_offer_help(actor=provider.user, need=need, offer=offer)
    engagement = Engagement.objects.create(
        need=need, offer=offer, need_title=need.title, offer_title=offer.title, state=E.PROPOSED
    )
    for who, action in PATH[state]:
        if who == "system":  # matching's own transition
            from matching.services.proposals import _supersede

            _supersede({engagement.pk: "below_cutoff"})
            engagement.refresh_from_db()
            continue
        actor = recipient if who == "r" else provider
        engagement = engagement_transition(actor=actor.user, engagement=engagement, action=action, reason="because")
    assert engagement.state == state
    return engagement


@pytest.mark.parametrize(("action", "state"), [key for key, move in TRANSITIONS.items() if not move.by & Role.SYSTEM])
def test_every_legal_transition_by_the_right_side(action, state, sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(state, recipient, provider, need, offer)
    move = TRANSITIONS[(action, state)]
    actor = recipient if move.by & Role.RECIPIENT else provider
    engagement = engagement_transition(actor=actor.user, engagement=engagement, action=action, reason="a reason")
    assert engagement.state == move.to
    event = EngagementEvent.objects.filter(engagement=engagement).order_by("-id").first()
    assert (event.action, event.from_state, event.to_state, event.actor_id) == (
        action.value,
        state.value,
        move.to.value,
        actor.user.pk,
    )


@pytest.mark.parametrize(
    ("action", "state"), [(a, s) for a in EngagementAction for s in E if (a, s) not in TRANSITIONS]
)
def test_every_illegal_transition_is_refused(action, state, sides, moderator):
    recipient, provider, need, offer = sides
    engagement = bring_to(state, recipient, provider, need, offer)
    with pytest.raises(IllegalTransition):
        engagement_transition(actor=moderator.user, engagement=engagement, action=action, reason="x")
    engagement.refresh_from_db()
    assert engagement.state == state


@pytest.mark.parametrize(
    ("state", "action", "wrong_side"),
    [
        (E.PROPOSED, "interest", "p"),
        (E.PROPOSED, "dismiss", "p"),
        (E.INTERESTED, "accept", "r"),
        (E.INTERESTED, "decline", "r"),
        (E.ACCEPTED, "agree", "p"),
    ],
)
def test_each_side_only_does_its_own_steps(state, action, wrong_side, sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(state, recipient, provider, need, offer)
    actor = provider if wrong_side == "p" else recipient
    with pytest.raises(PermissionDenied):
        engagement_transition(actor=actor.user, engagement=engagement, action=action, reason="x")


def test_strangers_can_do_nothing(sides, kor):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    assert allowed_engagement_actions(kor.user, engagement) == []
    with pytest.raises(PermissionDenied):
        engagement_transition(actor=kor.user, engagement=engagement, action="accept")


def test_decline_and_cancel_need_a_reason(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    with pytest.raises(ValidationError):
        engagement_transition(actor=provider.user, engagement=engagement, action="decline", reason=" ")
    engagement = engagement_transition(
        actor=provider.user, engagement=engagement, action="decline", reason="No trainers free this year"
    )
    assert engagement.last_reason == "No trainers free this year"


def test_accepted_engagements_use_up_capacity(sides):
    recipient, provider, need, offer = sides  # offer capacity 1
    bring_to(E.ACCEPTED, recipient, provider, need, offer)
    other_need = NeedFactory(
        organisation=recipient.organisation, country=recipient.organisation.country, published=True
    )
    second = Engagement.objects.create(
        need=other_need, offer=offer, need_title=other_need.title, offer_title=offer.title, state=E.INTERESTED
    )
    with pytest.raises(ValidationError) as excinfo:
        engagement_transition(actor=provider.user, engagement=second, action="accept")
    assert "capacity" in excinfo.value.message_dict
    second.refresh_from_db()
    assert second.state == E.INTERESTED


def test_express_interest_in_any_candidate(sides):
    recipient, provider, need, offer = sides
    engagement = engagement_express_interest(actor=recipient.user, need=need, offer=offer)
    assert engagement.state == E.INTERESTED
    assert engagement_express_interest(actor=recipient.user, need=need, offer=offer).pk == engagement.pk
    with pytest.raises(PermissionDenied):
        engagement_express_interest(actor=provider.user, need=need, offer=offer)


def test_no_engagement_with_oneself(sides):
    recipient, _provider, need, _offer = sides
    own = OfferFactory(organisation=recipient.organisation, published=True)
    with pytest.raises(ValidationError):
        engagement_express_interest(actor=recipient.user, need=need, offer=own)


def test_both_sides_rate_once_after_completion(sides):
    recipient, provider, need, offer = sides
    engagement = bring_to(E.IN_PROGRESS, recipient, provider, need, offer)
    with pytest.raises(ValidationError):
        engagement_rate(actor=recipient.user, engagement=engagement, score=5)
    engagement = engagement_transition(actor=provider.user, engagement=engagement, action="complete")
    assert (
        engagement_rate(actor=recipient.user, engagement=engagement, score=5, comment="Excellent").side == "recipient"
    )
    assert engagement_rate(actor=provider.user, engagement=engagement, score=4).side == "provider"
    with pytest.raises(ValidationError):
        engagement_rate(actor=recipient.user, engagement=engagement, score=3)
    with pytest.raises(ValidationError):
        engagement_rate(
            actor=provider.user,
            engagement=bring_to(
                E.COMPLETED,
                recipient,
                provider,
                NeedFactory(
                    organisation=recipient.organisation, country=recipient.organisation.country, published=True
                ),
                OfferFactory(organisation=provider.organisation, published=True, capacity=3),
            ),
            score=9,
        )


def test_ratings_feed_the_feedback_component(sides):
    from matching.features import provider_feedback

    recipient, provider, need, offer = sides
    engagement = bring_to(E.COMPLETED, recipient, provider, need, offer)
    engagement_rate(actor=recipient.user, engagement=engagement, score=4)
    assert provider_feedback([offer.organisation_id]) == {offer.organisation_id: (4.0, 1)}


def test_the_other_side_is_notified_in_app_and_by_email(sides, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    engagement = Engagement.objects.create(
        need=need, offer=offer, need_title=need.title, offer_title=offer.title, state=E.PROPOSED
    )
    with django_capture_on_commit_callbacks(execute=True):
        engagement_transition(actor=recipient.user, engagement=engagement, action="interest")
    notification = Notification.objects.get(user=provider.user)
    assert notification.kind == "engagement_interest"
    assert not Notification.objects.filter(user=recipient.user).exists()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [provider.user.email]
    assert offer.title in mail.outbox[0].subject
    notification.refresh_from_db()
    assert notification.emailed_at is not None


def test_emails_are_written_in_the_recipients_language(sides, django_capture_on_commit_callbacks):
    recipient, provider, need, offer = sides
    recipient.user.preferred_language = "fr"
    recipient.user.save()
    engagement = bring_to(E.INTERESTED, recipient, provider, need, offer)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        engagement_transition(actor=provider.user, engagement=engagement, action="decline", reason="Pas de formateurs")
    assert len(mail.outbox) == 1
    assert "Pas de formateurs" in mail.outbox[0].body


def test_matching_supersedes_only_proposals_nobody_committed_to(sides):
    """The system transition: a proposal the provider accepted meanwhile keeps its state; an
    untouched one is superseded with its reason, and both are on record."""
    from matching.services.proposals import _supersede

    recipient, provider, need, offer = sides
    untouched = bring_to(E.PROPOSED, recipient, provider, need, offer)
    other_offer = OfferFactory(organisation=offer.organisation, published=True)
    answered = bring_to(E.ACCEPTED, recipient, provider, need, other_offer)

    _supersede({untouched.pk: "below_cutoff", answered.pk: "below_cutoff"})

    untouched.refresh_from_db()
    answered.refresh_from_db()
    assert (untouched.state, answered.state) == (E.SUPERSEDED, E.ACCEPTED)
    assert untouched.superseded_reason == "below_cutoff"
    event = EngagementEvent.objects.filter(engagement=untouched).order_by("-id").first()
    assert (event.action, event.from_state, event.to_state) == ("supersede", E.PROPOSED, E.SUPERSEDED)
    assert not EngagementEvent.objects.filter(engagement=answered, action="supersede").exists()


def test_the_other_side_reads_the_titles_published_when_the_engagement_began(sides, moderator):
    """An offer taken down and re-titled as a draft never shows its draft title to the other State."""
    from django.test import Client
    from django.urls import reverse
    from rest_framework.test import APIClient

    from kb.models import EntryStatus
    from kb.services.entries import entry_update
    from kb.services.moderation import entry_transition as entry_move
    from matching.services.engagements import EngagementPaused

    recipient, provider, need, offer = sides
    engagement = engagement_express_interest(actor=recipient.user, need=need, offer=offer)
    published_title = offer.title
    assert engagement.offer_title == published_title
    entry_move(actor=moderator.user, entry=offer, action="unpublish", reason="Outdated contact")
    offer.refresh_from_db()
    assert offer.status == EntryStatus.RETURNED
    entry_update(
        actor=provider.user, entry=offer, content=entry_content(offer, {"title": "DRAFT: secret plans for 2027"})
    )
    api = APIClient()
    api.force_authenticate(recipient.user)
    body = api.get(reverse("matching-api:engagement-detail", args=[engagement.pk])).json()
    assert body["offer"]["title"] == published_title
    assert body["allowed_actions"] == []
    browser = Client()
    browser.force_login(recipient.user)
    page = browser.get(reverse("web:engagement", args=[engagement.pk])).content.decode()
    assert "secret plans" not in page
    assert published_title in page
    assert "secret plans" not in browser.get(reverse("web:inbox")).content.decode()
    # Nothing moves while the offer is not published, with a clear reason (409 on the API).
    with pytest.raises(EngagementPaused, match="no longer published"):
        engagement_transition(actor=provider.user, engagement=engagement, action="accept")
    response = APIClient()
    response.force_authenticate(provider.user)
    answer = response.post(reverse("matching-api:engagement-accept", args=[engagement.pk]))
    assert answer.status_code == 409
    assert answer.json()["errors"][0]["code"] == "entry_not_published"
    engagement.refresh_from_db()
    assert engagement.state == E.INTERESTED
    assert not Notification.objects.filter(params__offer__contains="secret").exists()
