"""Domain errors of the knowledge base; the API maps each to one HTTP status and error code."""

from __future__ import annotations


class IllegalTransition(Exception):
    """A moderation action that the entry's current state does not allow (HTTP 409)."""

    code = "illegal_transition"

    def __init__(self, *, action: str, state: str, allowed_from: list[str]):
        self.action = action
        self.state = state
        self.allowed_from = allowed_from
        allowed = ", ".join(allowed_from) or "no state"
        super().__init__(
            f"Cannot {action} an entry that is {state.replace('_', ' ')}; {action} is allowed from: {allowed}."
        )


class EntryNotEditable(Exception):
    """The entry cannot be edited in its current state (HTTP 409)."""

    code = "not_editable"
