"""Domain errors of the knowledge base; the API maps each to one HTTP status and error code."""

from __future__ import annotations

from django.utils.translation import gettext as _


class IllegalTransition(Exception):
    """A moderation action that the entry's current state does not allow (HTTP 409).

    ``action`` and ``state`` are codes; the message uses their labels in the active language.
    """

    code = "illegal_transition"

    def __init__(self, *, action: str, state: str, allowed_from: list[str], labels: dict[str, str]):
        self.action = action
        self.state = state
        self.allowed_from = allowed_from
        allowed = ", ".join(f"“{labels.get(s, s)}”" for s in allowed_from) or "—"
        super().__init__(
            _("“%(action)s” is not possible for an entry that is “%(state)s”; it is possible from: %(allowed)s.")
            % {"action": labels.get(action, action), "state": labels.get(state, state), "allowed": allowed}
        )


class EntryNotEditable(Exception):
    """The entry cannot be edited in its current state (HTTP 409)."""

    code = "not_editable"
