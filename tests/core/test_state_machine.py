"""The mechanics both state machines share: one table, one illegal-transition error, one reason rule,
and system transitions that no person is offered."""

from __future__ import annotations

import enum

import pytest
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy

from core.state_machine import NOBODY, IllegalTransition, Role, StateMachine, Transition
from kb.services.moderation import MODERATION, SystemAction
from matching.services.engagements import ENGAGEMENTS, EngagementSystemAction


class Light(models.TextChoices):
    RED = "red", "Red"
    GREEN = "green", "Green"
    BROKEN = "broken", "Broken"


class Switch(enum.StrEnum):
    GO = "go"
    STOP = "stop"
    FAIL = "fail"


MACHINE = StateMachine(
    {
        (Switch.GO, Light.RED): Transition(Light.GREEN, Role.OWNER),
        (Switch.STOP, Light.GREEN): Transition(Light.RED, Role.OWNER | Role.MODERATOR, reason_required=True),
        (Switch.FAIL, Light.RED): Transition(Light.BROKEN, Role.SYSTEM),
        (Switch.FAIL, Light.GREEN): Transition(Light.BROKEN, Role.SYSTEM),
    },
    action_labels={Switch.GO: "Go", Switch.STOP: "Stop"},
    illegal_message=gettext_lazy("%(action)s is not possible when %(state)s; possible from: %(allowed)s"),
)


def test_a_legal_action_gives_its_transition():
    assert MACHINE.transition(Switch.GO, Light.RED).to == Light.GREEN


def test_an_illegal_action_names_the_states_it_is_possible_from():
    with pytest.raises(IllegalTransition) as excinfo:
        MACHINE.transition(Switch.GO, Light.GREEN)
    error = excinfo.value
    assert (error.code, error.action, error.state, error.allowed_from) == ("illegal_transition", "go", "green", ["red"])
    assert str(error) == "Go is not possible when Green; possible from: “Red”"


def test_an_action_possible_from_nowhere_says_so():
    with pytest.raises(IllegalTransition) as excinfo:
        MACHINE.transition(Switch.STOP, Light.BROKEN)
    assert str(excinfo.value).endswith("possible from: “Green”")


def test_allowed_actions_follow_the_roles_held():
    assert MACHINE.allowed_actions(Light.GREEN, Role.MODERATOR) == [Switch.STOP]
    assert MACHINE.allowed_actions(Light.RED, Role.MODERATOR) == []
    assert MACHINE.allowed_actions(Light.RED, Role.OWNER | Role.MODERATOR) == [Switch.GO]
    assert MACHINE.allowed_actions(Light.RED, NOBODY) == []


def test_a_required_reason_is_a_validation_error_on_the_reason():
    transition = MACHINE.transition(Switch.STOP, Light.GREEN)
    with pytest.raises(ValidationError) as excinfo:
        MACHINE.reason(transition, Switch.STOP, "   ")
    assert list(excinfo.value.message_dict) == ["reason"]
    assert "Stop" in excinfo.value.message_dict["reason"][0]
    assert MACHINE.reason(transition, Switch.STOP, "  because ") == "because"


@pytest.mark.parametrize("machine", [MODERATION, ENGAGEMENTS], ids=["moderation", "engagements"])
def test_people_are_never_offered_a_system_transition(machine):
    people = Role.OWNER | Role.RECIPIENT | Role.PROVIDER | Role.MODERATOR
    system = {action for (action, _state), t in machine.transitions.items() if t.by & Role.SYSTEM}
    assert system, "each machine declares the transitions the product takes itself"
    states = {state for (_action, state) in machine.transitions}
    for state in states:
        assert not system & set(machine.allowed_actions(state, people))


def test_the_import_may_set_every_file_status_from_every_state():
    from kb.models import ModerationState

    for action in SystemAction:
        for state in ModerationState:
            assert MODERATION.transition(action, state).by == Role.SYSTEM


def test_matching_supersedes_only_proposals_nobody_committed_to():
    from matching.models import EngagementState

    action = EngagementSystemAction.SUPERSEDE
    assert ENGAGEMENTS.allowed_from(action) == [EngagementState.PROPOSED, EngagementState.INTERESTED]
    for state in (EngagementState.PROPOSED, EngagementState.INTERESTED):
        assert ENGAGEMENTS.transition(action, state).to == EngagementState.SUPERSEDED
        assert ENGAGEMENTS.transition(action, state).by == Role.SYSTEM


def test_the_illegal_transition_message_is_written_in_the_active_language():
    """Labels and the sentence are translated when the error is raised, so the API's detail and the
    web page's message are in the user's language."""
    from django.utils import translation

    from kb.models import ModerationState
    from kb.services.moderation import Action

    with translation.override("fr"), pytest.raises(IllegalTransition) as excinfo:
        MODERATION.transition(Action.PUBLISH, ModerationState.DRAFT)
    message = str(excinfo.value)
    assert message.startswith("« Publier » n’est pas possible")
    assert "« Brouillon »" in message
    assert excinfo.value.allowed_from == ["submitted", "published_changes_submitted"]
