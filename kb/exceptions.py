"""Domain errors of the knowledge base (``core.errors.DomainError``: the API answers 409)."""

from __future__ import annotations

from core.errors import DomainError


class EntryNotEditable(DomainError):
    """The entry cannot be edited or deleted in its current state."""

    code = "not_editable"
