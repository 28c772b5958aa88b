"""Stable proposals: a run keeps open pairs, only adds; superseding says why and tells both sides."""

from __future__ import annotations

import pytest
from django.utils import timezone

from kb.models import EntryStatus
from kb.search.sync import search_outbox_drain
from matching.models import (
    Engagement,
    EngagementEvent,
    EngagementState,
    Notification,
    SupersededReason,
)
from matching.plan import Commitments, PlanNeed, solve
from matching.services.runs import match_rescore_needs, match_run_execute, match_run_start
from tests.factories import MembershipFactory
from tests.matching.conftest import load, need

pytestmark = pytest.mark.django_db
E = EngagementState


def run_full(backend):
    from matching.models import RunTrigger

    run = match_run_start(trigger=RunTrigger.COMMAND, enqueue=False)
    return match_run_execute(run_id=run.pk, backend=backend)


def visible():
    """What users can see of engagements and notifications."""
    engagements = sorted(Engagement.objects.values_list("id", "need_id", "offer_id", "state", "replaced_by_id"))
    return engagements, Notification.objects.count(), EngagementEvent.objects.count()


def focal_points(entry, *, provider: bool):
    return MembershipFactory(
        organisation=entry.organisation, is_provider_focal_point=provider, is_recipient_focal_point=not provider
    ).user


def test_solve_keeps_fixed_pairs_adds_around_them_and_never_reassigns_refused():
    needs = {1: PlanNeed(wanted=2), 2: PlanNeed(wanted=1)}
    pairs = [(1, 10, 0.9), (1, 11, 0.8), (1, 12, 0.7), (2, 10, 0.95), (2, 11, 0.5)]
    # Need 1 holds offer 12 (its weakest pair); need 2 refused offer 10. Offer 10 has one unit left.
    result = solve(
        needs, {10: 1, 11: 1, 12: 0}, pairs, Commitments(fixed=frozenset({(1, 12)}), refused=frozenset({(2, 10)}))
    )
    assert (1, 12) in result.assigned  # kept although the solver alone would not choose it
    assert len([p for p in result.assigned if p[0] == 1]) == 2  # one more added, not two
    assert (2, 10) not in result.assigned
    assert result.assigned == {(1, 12), (1, 10), (2, 11)}


def test_a_rerun_over_unchanged_data_changes_nothing_visible(
    search_backend, small_kb, django_capture_on_commit_callbacks
):
    _offers, needs = small_kb
    for entry in needs.values():
        focal_points(entry, provider=False)
    with django_capture_on_commit_callbacks(execute=True):
        run_full(search_backend)
    before = visible()
    assert before[0]
    assert before[1]
    with django_capture_on_commit_callbacks(execute=True):
        run_full(search_backend)
        match_rescore_needs(need_ids=[n.pk for n in needs.values()], backend=search_backend)
        run_full(search_backend)
    assert visible() == before  # same proposals, no new notification, no new history


def test_one_new_need_withdraws_no_open_proposal(search_backend, small_kb):
    offers, _needs = small_kb
    run_full(search_backend)
    opened = {e.pk: e.state for e in Engagement.objects.all()}
    rwa = Engagement.objects.get(offer=offers["O-RWA"])
    # A high-priority need the Rwandan offer (capacity 1) would now serve best.
    load([need("N-BEN", "BEN", "Autorité nationale de lutte contre la corruption", "Déclarations de patrimoine en ligne",
               "Système en ligne de déclaration et de vérification des déclarations de patrimoine des agents publics.",
               language="fr", uncac_articles=[8, 52], thematic_areas=["asset_declarations"],
               ta_types=["technology"], priority="high", south_south="prefer")])  # fmt: skip
    search_outbox_drain(backend=search_backend)
    run_full(search_backend)
    assert dict(Engagement.objects.filter(pk__in=opened).values_list("id", "state")) == opened
    assert not Engagement.objects.filter(offer=offers["O-RWA"]).exclude(pk=rwa.pk).exists()  # capacity kept


def test_capacity_really_gone_supersedes_notifies_both_sides_and_names_the_replacement(
    search_backend, small_kb, django_capture_on_commit_callbacks
):
    offers, needs = small_kb
    run_full(search_backend)
    proposal = Engagement.objects.get(offer=offers["O-RWA"], state=E.PROPOSED)
    recipient = focal_points(proposal.need, provider=False)
    provider = focal_points(offers["O-RWA"], provider=True)
    # The Rwandan offer's only unit goes to an engagement agreed outside matching.
    Engagement.objects.create(need=needs["N-PNG"], offer=offers["O-RWA"], state=E.ACCEPTED, accepted_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        run_full(search_backend)
    proposal.refresh_from_db()
    assert proposal.state == E.SUPERSEDED
    assert proposal.superseded_reason == SupersededReason.CAPACITY_GONE
    event = proposal.events.order_by("-id").first()
    assert (event.action, event.from_state, event.to_state) == ("supersede", E.PROPOSED, E.SUPERSEDED)
    replacement = proposal.replaced_by
    assert replacement is not None
    assert replacement.need_id == proposal.need_id
    assert replacement.offer_id != offers["O-RWA"].pk
    assert replacement.state == E.PROPOSED
    for user in (recipient, provider):
        note = Notification.objects.get(user=user, kind="engagement_supersede", engagement=proposal)
        assert note.params["reason_code"] == "capacity_gone"
        assert note.params["replacement"] == replacement.offer.title
        assert note.emailed_at is not None


def test_below_the_cut_off_supersedes_uncommitted_proposals_only(search_backend, small_kb, settings):
    offers, _needs = small_kb
    run_full(search_backend)
    proposals = list(Engagement.objects.filter(state=E.PROPOSED).order_by("id"))
    interested, accepted, untouched = proposals[0], proposals[1], proposals[2]
    Engagement.objects.filter(pk=interested.pk).update(state=E.INTERESTED)
    Engagement.objects.filter(pk=accepted.pk).update(state=E.ACCEPTED, accepted_at=timezone.now())
    settings.MATCHING_DEFAULTS = {**settings.MATCHING_DEFAULTS, "min_score": 0.999}
    run_full(search_backend)
    states = dict(Engagement.objects.filter(pk__in=[p.pk for p in proposals]).values_list("id", "state"))
    assert states == {interested.pk: E.SUPERSEDED, accepted.pk: E.ACCEPTED, untouched.pk: E.SUPERSEDED}
    assert set(Engagement.objects.filter(state=E.SUPERSEDED).values_list("superseded_reason", flat=True)) == {
        SupersededReason.BELOW_CUTOFF
    }


def test_an_archived_offer_or_need_supersedes_its_proposals(
    search_backend, small_kb, django_capture_on_commit_callbacks
):
    offers, needs = small_kb
    run_full(search_backend)
    by_rwa = Engagement.objects.get(offer=offers["O-RWA"])
    ExpertiseOffer = type(offers["O-RWA"])
    ExpertiseOffer.objects.filter(pk=offers["O-RWA"].pk).update(status=EntryStatus.ARCHIVED)
    run_full(search_backend)
    by_rwa.refresh_from_db()
    assert (by_rwa.state, by_rwa.superseded_reason) == (E.SUPERSEDED, SupersededReason.OFFER_GONE)

    hnd = Engagement.objects.get(need=needs["N-HND"], state=E.PROPOSED)
    recipient = focal_points(needs["N-HND"], provider=False)
    type(needs["N-HND"]).objects.filter(pk=needs["N-HND"].pk).update(status=EntryStatus.ARCHIVED)
    with django_capture_on_commit_callbacks(execute=True):
        assert match_rescore_needs(need_ids=[needs["N-HND"].pk], backend=search_backend) is None
    hnd.refresh_from_db()
    assert (hnd.state, hnd.superseded_reason, hnd.replaced_by) == (E.SUPERSEDED, SupersededReason.NEED_GONE, None)
    assert Notification.objects.filter(user=recipient, kind="engagement_supersede", engagement=hnd).exists()
