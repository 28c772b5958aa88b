"""Service errors shown on forms."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from web.forms import AcceptInvitationForm


def test_service_errors_go_beside_their_field_or_to_the_top():
    form = AcceptInvitationForm({"full_name": "Ana", "password": "pass-phrase", "password_again": "pass-phrase"})
    assert form.is_valid()
    form.add_service_errors(ValidationError({"password": "Too common.", "token": "This link has expired."}))
    form.add_service_errors(ValidationError("The organisation is closed."))
    assert form.errors["password"] == ["Too common."]
    assert form.non_field_errors() == ["This link has expired.", "The organisation is closed."]
