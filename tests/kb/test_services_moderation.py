"""The moderation state machine: every legal transition, every illegal one, who may do what."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from core.state_machine import IllegalTransition, Role
from kb.content import entry_content
from kb.models import EntryEvent, EntryStatus, ModerationState, RevisionStatus
from kb.services.entries import entry_update, need_create, offer_create
from kb.services.moderation import TRANSITIONS, Action, allowed_actions, entry_transition

pytestmark = pytest.mark.django_db

S = ModerationState


def _offer(actor):
    return offer_create(
        actor=actor.user,
        organisation=actor.organisation,
        content=entry_content(
            "offer",
            {
                "title": "Asset declaration training",
                "description": "A course.",
                "language": "en",
                "articles": [8],
                "ta_types": ["capacity_building"],
            },
        ),
    )


def _bring_to(state: ModerationState, owner, moderator):
    """An offer in ``state``, reached through the real transitions."""
    offer = _offer(owner)
    steps = {
        S.DRAFT: [],
        S.SUBMITTED: [(owner, "submit")],
        S.RETURNED: [(owner, "submit"), (moderator, "return")],
        S.PUBLISHED: [(owner, "submit"), (moderator, "publish")],
        S.PUBLISHED_CHANGES_SUBMITTED: [(owner, "submit"), (moderator, "publish"), (owner, "edit")],
        S.PUBLISHED_CHANGES_RETURNED: [
            (owner, "submit"),
            (moderator, "publish"),
            (owner, "edit"),
            (moderator, "return"),
        ],
        S.ARCHIVED: [(owner, "submit"), (moderator, "publish"), (owner, "archive")],
    }[state]
    for actor, action in steps:
        if action == "edit":
            offer = entry_update(actor=actor.user, entry=offer, content=entry_content(offer, {"title": "Better title"}))
        else:
            offer = entry_transition(actor=actor.user, entry=offer, action=action, reason="needs detail")
    offer.refresh_from_db()
    assert offer.moderation_state == state
    return offer


PEOPLES_TRANSITIONS = [key for key, transition in TRANSITIONS.items() if not transition.by & Role.SYSTEM]


@pytest.mark.parametrize(("action", "state"), PEOPLES_TRANSITIONS)
def test_every_legal_transition_reaches_its_target_and_is_recorded(action, state, civ, moderator):
    offer = _bring_to(state, civ, moderator)
    transition = TRANSITIONS[(action, state)]
    actor = moderator if Role.MODERATOR in transition.by else civ
    before = EntryEvent.objects.filter(offer=offer).count()

    offer = entry_transition(actor=actor.user, entry=offer, action=action, reason="a reason")

    offer.refresh_from_db()
    assert offer.moderation_state == transition.to
    event = EntryEvent.objects.filter(offer=offer).order_by("-id").first()
    assert EntryEvent.objects.filter(offer=offer).count() == before + 1
    assert (event.action, event.from_status, event.to_status, event.actor_id) == (
        action.value,
        state.value,
        transition.to.value,
        actor.user.pk,
    )
    assert event.reason == "a reason"
    # Pending changes exist exactly when the state says so.
    assert (offer.pending_revision is not None) == (offer.revision_status != RevisionStatus.NONE)


ILLEGAL = [(a, s) for a in Action for s in S if (a, s) not in TRANSITIONS]


@pytest.mark.parametrize(("action", "state"), ILLEGAL)
def test_every_illegal_transition_is_refused_with_the_allowed_states(action, state, civ, moderator):
    offer = _bring_to(state, civ, moderator)
    with pytest.raises(IllegalTransition) as excinfo:
        entry_transition(actor=moderator.user, entry=offer, action=action, reason="x")
    assert str(state.label) in str(excinfo.value)
    for allowed in excinfo.value.allowed_from:
        assert (action, S(allowed)) in TRANSITIONS
    offer.refresh_from_db()
    assert offer.moderation_state == state


@pytest.mark.parametrize("action", ["publish", "return", "unpublish"])
def test_focal_points_cannot_moderate_their_own_entries(action, civ, moderator):
    state = S.SUBMITTED if action != "unpublish" else S.PUBLISHED
    offer = _bring_to(state, civ, moderator)
    with pytest.raises(PermissionDenied):
        entry_transition(actor=civ.user, entry=offer, action=action, reason="x")
    offer.refresh_from_db()
    assert offer.moderation_state == state


@pytest.mark.parametrize(
    ("action", "state"),
    [("submit", S.DRAFT), ("withdraw", S.SUBMITTED), ("archive", S.PUBLISHED), ("restore", S.ARCHIVED)],
)
def test_another_states_focal_point_cannot_act_on_an_entry(action, state, civ, kor, moderator):
    offer = _bring_to(state, civ, moderator)
    with pytest.raises(PermissionDenied):
        entry_transition(actor=kor.user, entry=offer, action=action)
    offer.refresh_from_db()
    assert offer.moderation_state == state


def test_a_colleague_in_the_same_organisation_can_submit(civ, civ_colleague, moderator):
    offer = _offer(civ)
    entry_transition(actor=civ_colleague.user, entry=offer, action="submit")
    offer.refresh_from_db()
    assert offer.status == EntryStatus.SUBMITTED


@pytest.mark.parametrize("reason", ["", "   "])
def test_return_needs_a_reason(reason, civ, moderator):
    offer = _bring_to(S.SUBMITTED, civ, moderator)
    with pytest.raises(ValidationError) as excinfo:
        entry_transition(actor=moderator.user, entry=offer, action="return", reason=reason)
    assert "reason" in excinfo.value.message_dict
    offer.refresh_from_db()
    assert offer.status == EntryStatus.SUBMITTED


def test_returned_entry_shows_the_reason_and_can_be_resubmitted(civ, moderator):
    offer = _bring_to(S.SUBMITTED, civ, moderator)
    entry_transition(actor=moderator.user, entry=offer, action="return", reason="Add the target audience.")
    offer.refresh_from_db()
    assert offer.moderation_reason == "Add the target audience."
    entry_update(
        actor=civ.user, entry=offer, content=entry_content(offer, {"description": "For prosecutors and auditors."})
    )
    entry_transition(actor=civ.user, entry=offer, action="submit")
    entry_transition(actor=moderator.user, entry=offer, action="publish")
    offer.refresh_from_db()
    assert offer.status == EntryStatus.PUBLISHED
    assert offer.description == "For prosecutors and auditors."
    assert offer.moderation_reason == ""


def test_editing_a_published_entry_keeps_the_published_version_until_approved(civ, moderator):
    offer = _bring_to(S.PUBLISHED, civ, moderator)
    entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"title": "New title", "articles": [8, 52]}))
    offer.refresh_from_db()
    assert offer.title == "Asset declaration training"
    assert [a.number for a in offer.articles.all()] == [8]
    assert offer.status == EntryStatus.PUBLISHED
    assert offer.revision_status == RevisionStatus.SUBMITTED
    assert offer.pending_revision["title"] == "New title"

    entry_transition(actor=moderator.user, entry=offer, action="publish")
    offer.refresh_from_db()
    assert offer.title == "New title"
    assert sorted(a.number for a in offer.articles.all()) == [8, 52]
    assert offer.pending_revision is None
    assert offer.revision_status == RevisionStatus.NONE


def test_returned_changes_keep_the_published_version_and_can_be_withdrawn(civ, moderator):
    offer = _bring_to(S.PUBLISHED_CHANGES_RETURNED, civ, moderator)
    assert offer.title == "Asset declaration training"
    assert offer.moderation_reason == "needs detail"
    entry_transition(actor=civ.user, entry=offer, action="withdraw")
    offer.refresh_from_db()
    assert offer.moderation_state == S.PUBLISHED
    assert offer.title == "Asset declaration training"
    assert offer.pending_revision is None


def test_unpublishing_keeps_the_authors_latest_text(civ, moderator):
    offer = _bring_to(S.PUBLISHED_CHANGES_SUBMITTED, civ, moderator)
    entry_transition(actor=moderator.user, entry=offer, action="unpublish", reason="Contact details are wrong.")
    offer.refresh_from_db()
    assert offer.status == EntryStatus.RETURNED
    assert offer.title == "Better title"


def test_allowed_actions_follow_the_table(civ, moderator):
    offer = _bring_to(S.SUBMITTED, civ, moderator)
    assert allowed_actions(offer, is_owner=True, is_moderator=False) == ["withdraw"]
    assert sorted(allowed_actions(offer, is_owner=False, is_moderator=True)) == ["publish", "return"]
    assert allowed_actions(offer, is_owner=False, is_moderator=False) == []


def test_needs_follow_the_same_machine(civ, moderator):
    need = need_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content(
            "need",
            {
                "title": "Help with asset declarations",
                "description": "Verification.",
                "language": "fr",
                "articles": [8],
                "ta_types": ["capacity_building"],
            },
        ),
    )
    entry_transition(actor=civ.user, entry=need, action="submit")
    entry_transition(actor=moderator.user, entry=need, action="publish")
    need.refresh_from_db()
    assert need.status == EntryStatus.PUBLISHED
    assert need.published_at is not None


# --- a submission is complete: at least one UNCAC article and one type of assistance -----------


def test_a_draft_may_be_incomplete_but_a_submission_may_not(civ):
    draft = offer_create(
        actor=civ.user,
        organisation=civ.organisation,
        content=entry_content("offer", {"title": "T", "description": "D", "language": "en"}),
    )
    with pytest.raises(ValidationError) as error:
        entry_transition(actor=civ.user, entry=draft, action="submit")
    assert set(error.value.message_dict) == {"articles", "ta_types"}
    draft.refresh_from_db()
    assert draft.status == EntryStatus.DRAFT
    entry_update(actor=civ.user, entry=draft, content=entry_content(draft, {"articles": [8]}))
    with pytest.raises(ValidationError) as error:
        entry_transition(actor=civ.user, entry=draft, action="submit")
    assert set(error.value.message_dict) == {"ta_types"}
    entry_update(actor=civ.user, entry=draft, content=entry_content(draft, {"ta_types": ["technology"]}))
    assert entry_transition(actor=civ.user, entry=draft, action="submit").status == EntryStatus.SUBMITTED


def test_create_and_submit_is_all_or_nothing(civ):
    from kb.models import ExpertiseOffer

    with pytest.raises(ValidationError) as error:
        offer_create(
            actor=civ.user,
            organisation=civ.organisation,
            content=entry_content("offer", {"title": "T", "description": "D", "language": "en", "articles": [8]}),
            submit=True,
        )
    assert set(error.value.message_dict) == {"ta_types"}
    assert not ExpertiseOffer.objects.exists()


def test_changes_to_a_published_entry_must_stay_complete(civ, moderator):
    offer = _bring_to(S.PUBLISHED, civ, moderator)
    with pytest.raises(ValidationError) as error:
        entry_update(actor=civ.user, entry=offer, content=entry_content(offer, {"articles": []}))
    assert set(error.value.message_dict) == {"articles"}
    offer.refresh_from_db()
    assert offer.pending_revision is None
