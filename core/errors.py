"""Errors the domain raises on purpose, each with a stable code.

A ``DomainError`` is a rule refusing a request (an illegal transition, an entry that cannot be
edited, a matching run already active) or a service the rule needs being away (search). It
carries a machine-readable ``code`` and the HTTP status the API answers with; ``user_message`` is
written for the user, in the active language. It is mapped once for the API
(``core.api.errors``) and once for web pages (``core.web``).

Bad input is not a domain error: it is Django's ``ValidationError`` naming the field, and a
missing right is Django's ``PermissionDenied``.
"""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    #: The API's answer: 409, the request conflicts with the current state, unless a subclass says.
    status_code: ClassVar[int] = 409

    @property
    def user_message(self) -> str:
        """What to tell the user. Subclasses that keep technical detail in ``str()`` override it."""
        return str(self)
