"""The mechanics shared by the explicit state machines (moderation of entries, engagements).

A machine is one table, (action, state) -> ``Transition``: the state it leads to, who may take it
(``Role`` flags) and whether a reason is required. Anything not in the table is an
``IllegalTransition`` naming the states the action is possible from. Transitions ``by`` the
``SYSTEM`` role are taken by the product itself (an import, a matching run), never offered to a
person. The domain modules own their tables, who holds which role, and what a transition does
to their rows; this module owns what is the same for both.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.core.exceptions import ValidationError
from django.db.models import TextChoices
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from core.errors import DomainError


class Role(enum.Flag):
    """Who takes a transition."""

    OWNER = enum.auto()  # the entry's own focal points (moderation)
    RECIPIENT = enum.auto()  # the need's focal points (engagements)
    PROVIDER = enum.auto()  # the offer's focal points (engagements)
    MODERATOR = enum.auto()  # the secretariat
    SYSTEM = enum.auto()  # nobody decides: an import, a matching run


NOBODY = Role(0)

StateT = TypeVar("StateT", bound=TextChoices)
ActionT = TypeVar("ActionT", bound=enum.StrEnum)


@dataclass(frozen=True)
class Transition(Generic[StateT]):
    to: StateT
    by: Role
    reason_required: bool = False


TransitionT = TypeVar("TransitionT", bound=Transition)


class IllegalTransition(DomainError):
    """An action the current state does not allow. ``action`` and ``state`` are codes;
    ``allowed_from`` the states the action is possible from."""

    code = "illegal_transition"

    def __init__(self, message: str, *, action: str, state: str, allowed_from: list[str]):
        super().__init__(message)
        self.action = action
        self.state = state
        self.allowed_from = allowed_from


class StateMachine(Generic[ActionT, StateT, TransitionT]):
    def __init__(
        self,
        transitions: Mapping[tuple[ActionT, StateT], TransitionT],
        *,
        action_labels: Mapping[ActionT, Promise | str],
        illegal_message: Promise,
    ):
        """``illegal_message`` is a lazy translation with ``%(action)s``, ``%(state)s`` and
        ``%(allowed)s`` in it; labels name actions in messages (the code when there is none)."""
        self.transitions = dict(transitions)
        self.action_labels = dict(action_labels)
        self.illegal_message = illegal_message

    def label(self, action: ActionT) -> str:
        return str(self.action_labels.get(action, action.value))

    def allowed_from(self, action: ActionT) -> list[StateT]:
        return [state for (a, state) in self.transitions if a == action]

    def transition(self, action: ActionT, state: StateT) -> TransitionT:
        """The transition ``action`` takes from ``state``, or ``IllegalTransition``."""
        found = self.transitions.get((action, state))
        if found is not None:
            return found
        allowed = self.allowed_from(action)
        raise IllegalTransition(
            str(self.illegal_message)
            % {
                "action": self.label(action),
                "state": state.label,
                "allowed": ", ".join(f"“{s.label}”" for s in allowed) or "—",
            },
            action=action.value,
            state=state.value,
            allowed_from=[s.value for s in allowed],
        )

    def allowed_actions(self, state: StateT, roles: Role) -> list[ActionT]:
        """Actions someone holding ``roles`` may take from ``state``, in table order."""
        return [action for (action, s), t in self.transitions.items() if s == state and t.by & roles]

    def reason(self, transition: TransitionT, action: ActionT, reason: str) -> str:
        """The reason given, stripped; a ``ValidationError`` on ``reason`` if one is required."""
        reason = (reason or "").strip()
        if transition.reason_required and not reason:
            raise ValidationError(
                {"reason": _("Give a reason for this action: “%(action)s”.") % {"action": self.label(action)}}
            )
        return reason
