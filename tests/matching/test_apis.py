"""Matching endpoints: who may start runs, see candidates, act on engagements, read notifications."""

from __future__ import annotations

import pytest
from django.urls import reverse

from matching.models import Engagement, EngagementState, MatchRun, Notification
from matching.services.runs import match_run_execute

pytestmark = pytest.mark.django_db

RUNS = reverse("matching-api:run-list")


def test_moderators_start_runs_others_follow_them(moderator, civ):
    assert civ.client.post(RUNS).status_code == 403
    response = moderator.client.post(RUNS)
    assert response.status_code == 201
    assert response.json()["status"] == "queued"
    second = moderator.client.post(RUNS)
    assert second.status_code == 409
    assert second.json()["errors"][0]["code"] == "run_already_active"
    listed = civ.client.get(RUNS).json()
    assert listed["count"] == 1
    run_id = response.json()["id"]
    assert civ.client.post(reverse("matching-api:run-cancel", args=[run_id])).status_code == 403
    assert moderator.client.post(reverse("matching-api:run-cancel", args=[run_id])).json()["status"] == "cancelled"
    assert moderator.client.post(reverse("matching-api:run-cancel", args=[run_id])).status_code == 409


@pytest.fixture
def matched(search_backend, db, moderator):
    """The small knowledge base, focal points on both sides of N-CIV ← O-RWA, one completed run."""
    from accounts.models import Membership
    from kb.models import AssistanceNeed, ExpertiseOffer
    from kb.search.sync import search_outbox_drain
    from tests.conftest import _focal_point
    from tests.matching.conftest import SMALL_KB, SMALL_NEEDS, load

    load(SMALL_KB + SMALL_NEEDS)
    search_outbox_drain(backend=search_backend)
    need = AssistanceNeed.objects.get(external_id="N-CIV")
    offer = ExpertiseOffer.objects.get(external_id="O-RWA")
    recipient = _focal_point("CIV", provider=False, recipient=True)
    Membership.objects.create(user=recipient.user, organisation=need.organisation, is_recipient_focal_point=True)
    provider = _focal_point("RWA", provider=True, recipient=False)
    Membership.objects.create(user=provider.user, organisation=offer.organisation, is_provider_focal_point=True)
    run = moderator.client.post(RUNS).json()
    match_run_execute(run_id=run["id"], backend=search_backend)
    return need, offer, recipient, provider


def test_candidates_for_the_need_owner_and_moderators_only(matched, moderator, kor):
    need, offer, recipient, _provider = matched
    url = reverse("matching-api:need-candidates", args=[need.pk])
    body = recipient.client.get(url, HTTP_ACCEPT_LANGUAGE="fr").json()
    assert body["results"][0]["offer"]["id"] == offer.pk
    assert any("Sud-Sud" in r or "South-South" in r for r in body["results"][0]["reasons"])
    assert body["outcome"]["providers_assigned"] == 1
    assert moderator.client.get(url).status_code == 200
    assert kor.client.get(url).status_code == 403


def test_engagement_workflow_through_the_api(matched, kor):
    need, offer, recipient, provider = matched
    proposal = Engagement.objects.get(need=need, offer=offer)
    assert proposal.state == EngagementState.PROPOSED
    listed = recipient.client.get(reverse("matching-api:engagement-list")).json()["results"]
    assert [e["id"] for e in listed] == [proposal.pk]
    assert listed[0]["allowed_actions"] == ["interest", "dismiss"]
    assert kor.client.get(reverse("matching-api:engagement-detail", args=[proposal.pk])).status_code == 404

    def act(who, action, **data):
        return who.client.post(reverse(f"matching-api:engagement-{action}", args=[proposal.pk]), data, format="json")

    assert act(recipient, "agree").status_code == 409  # nobody accepted yet
    assert act(recipient, "accept").status_code == 403  # "I can help" is the provider's
    assert act(provider, "interest").status_code == 403
    assert act(recipient, "interest").json()["state"] == "interested"
    assert act(provider, "decline").status_code == 400  # a reason is required
    assert act(provider, "accept").json()["state"] == "accepted"
    assert act(recipient, "agree").json()["state"] == "agreed"
    assert act(provider, "start").json()["state"] == "in_progress"
    assert act(recipient, "complete").json()["state"] == "completed"
    rate = recipient.client.post(
        reverse("matching-api:engagement-rate", args=[proposal.pk]), {"score": 5, "comment": "Useful"}, format="json"
    )
    assert rate.status_code == 201
    bad = provider.client.post(reverse("matching-api:engagement-rate", args=[proposal.pk]), {"score": 7}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["attr"] == "score"


def test_interest_in_a_listed_candidate_opens_an_engagement(matched):
    need, _offer, recipient, _provider = matched
    from kb.models import ExpertiseOffer

    french = ExpertiseOffer.objects.get(external_id="O-FRA")
    response = recipient.client.post(
        reverse("matching-api:engagement-list"), {"need": need.pk, "offer": french.pk}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["state"] == "interested"


def test_notifications_list_and_mark_read(matched):
    need, offer, recipient, provider = matched
    url = reverse("matching-api:notification-list")
    body = recipient.client.get(url).json()
    assert body["count"] >= 1
    assert body["results"][0]["kind"] == "engagement_propose"
    assert need.title in body["results"][0]["title"]
    response = recipient.client.post(reverse("matching-api:notification-mark-read"), {}, format="json")
    assert response.json()["marked"] >= 1
    assert not Notification.objects.filter(user=recipient.user, read_at__isnull=True).exists()
    assert provider.client.get(url).json()["count"] == 0


def test_runs_report_progress_fields(matched, civ):
    run = MatchRun.objects.get()
    body = civ.client.get(reverse("matching-api:run-detail", args=[run.pk])).json()
    assert body["status"] == "completed"
    assert body["progress"] == 1.0
    assert 0 < body["coverage"] <= 1
    assert "plan_solver" in body["timings"]
