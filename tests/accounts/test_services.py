"""Account services: the rules the web views rely on, checked at the service boundary."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import AccessRequest, AccessRequestStatus, Invitation, Membership, User
from accounts.services import (
    access_request_create,
    access_request_decide,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_resend,
    invitation_revoke,
    membership_grant,
    moderators_group_sync,
    user_set_active,
)
from kb.models import Country, Organisation

pytestmark = pytest.mark.django_db

STRONG = "a-Long-pass-phrase-9"


def _invite(moderator, organisation, capture, **roles) -> str:
    with capture(execute=True):
        _invitation, link = invitation_create(
            actor=moderator.user, email=" New.Person@Example.org ", organisation=organisation, **roles
        )
    assert link in mail.outbox[-1].body
    return re.search(r"/accounts/invitations/([^/]+)/", link).group(1)


def test_invitation_stores_only_a_hash_of_its_token(moderator, civ, django_capture_on_commit_callbacks):
    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    invitation = Invitation.objects.get()
    assert invitation.email == "new.person@example.org"
    assert token not in invitation.token_hash
    assert invitation_for_token(token) == invitation
    assert invitation_for_token(token + "x") is None


def test_invitation_needs_a_role_and_a_moderator(moderator, civ):
    with pytest.raises(ValidationError) as error:
        invitation_create(
            actor=moderator.user, email="a@example.org", organisation=civ.organisation, provider=False, recipient=False
        )
    assert "roles" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        invitation_create(
            actor=civ.user, email="a@example.org", organisation=civ.organisation, provider=True, recipient=False
        )
    assert not Invitation.objects.exists()


def test_weak_password_names_the_field_and_writes_nothing(moderator, civ, django_capture_on_commit_callbacks):
    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=False, recipient=True)
    with pytest.raises(ValidationError) as error:
        invitation_accept(token=token, password="123")
    assert "password" in error.value.message_dict
    assert not User.objects.filter(email="new.person@example.org").exists()
    assert Invitation.objects.get().accepted_at is None


def test_accepting_adds_roles_to_an_existing_account_once_and_never_sets_its_password(
    moderator, civ, kor, django_capture_on_commit_callbacks
):
    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=False, recipient=True)
    # The account appeared after the invitation was sent (an admin created it meanwhile).
    existing = User.objects.create_user(email="new.person@example.org", password=STRONG)
    membership_grant(user=existing, organisation=kor.organisation, provider=True)
    # Whoever holds the link cannot take the account over by choosing its password.
    for actor in (None, civ.user):
        with pytest.raises(ValidationError) as error:
            invitation_accept(token=token, password="taken-over-" + STRONG, actor=actor)
        assert "token" in error.value.message_dict
    user = invitation_accept(token=token, actor=existing)
    assert user.pk == existing.pk
    roles = {
        m.organisation_id: (m.is_provider_focal_point, m.is_recipient_focal_point)
        for m in Membership.objects.filter(user=user)
    }
    assert roles == {kor.organisation.pk: (True, False), civ.organisation.pk: (False, True)}
    with pytest.raises(ValidationError) as error:
        invitation_accept(token=token, actor=existing)
    assert "token" in error.value.message_dict
    user.refresh_from_db()
    assert user.check_password(STRONG)


def test_deactivating_revokes_pending_invitations_and_acceptance_never_reactivates(
    moderator, civ, django_capture_on_commit_callbacks
):
    from accounts.services import user_set_active

    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    account = User.objects.create_user(email="new.person@example.org", password=STRONG)
    user_set_active(actor=moderator.user, user=account, active=False)
    invitation = Invitation.objects.get()
    assert invitation.revoked_at is not None
    assert invitation.revoked_by == moderator.user
    with pytest.raises(ValidationError):
        invitation_accept(token=token, password="new-" + STRONG, actor=account)
    # Even an invitation left open (created before the revocation rule) never re-activates.
    Invitation.objects.update(revoked_at=None, revoked_by=None)
    with pytest.raises(ValidationError, match="deactivated"):
        invitation_accept(token=token, password="new-" + STRONG, actor=account)
    account.refresh_from_db()
    assert account.is_active is False
    assert account.check_password(STRONG)


def test_a_moderator_cannot_deactivate_a_superuser(moderator):
    from accounts.services import user_set_active

    root = User.objects.create_superuser(email="root@example.org", password=STRONG)
    with pytest.raises(PermissionDenied):
        user_set_active(actor=moderator.user, user=root, active=False)
    root.refresh_from_db()
    assert root.is_active


def test_expired_invitation_is_refused(moderator, civ, django_capture_on_commit_callbacks):
    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    Invitation.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert invitation_for_token(token) is None
    with pytest.raises(ValidationError, match="expired"):
        invitation_accept(token=token, password=STRONG)
    assert not User.objects.filter(email="new.person@example.org").exists()


def test_membership_grant_adds_roles_without_removing_any(civ):
    membership = membership_grant(user=civ.user, organisation=civ.organisation, provider=False, recipient=False)
    assert (membership.is_provider_focal_point, membership.is_recipient_focal_point) == (True, True)
    assert Membership.objects.filter(user=civ.user).count() == 1


def _request(**overrides) -> AccessRequest:
    fields = {
        "email": "ana@example.org",
        "full_name": "Ana",
        "organisation": None,
        "organisation_name": "Oficina Anticorrupción",
        "country": Country.objects.get(iso3="ARG"),
        "provider": True,
        "recipient": False,
    }
    return access_request_create(**{**fields, **overrides})


def test_access_request_is_decided_once(moderator):
    request = _request()
    access_request_decide(actor=moderator.user, request=request, approve=True)
    with pytest.raises(ValidationError) as error:
        access_request_decide(actor=moderator.user, request=request, approve=False, reason="Late refusal")
    assert "status" in error.value.message_dict
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.APPROVED
    assert Invitation.objects.filter(email="ana@example.org").count() == 1


def test_approving_without_a_state_writes_nothing(moderator):
    request = _request(country=None)
    with pytest.raises(ValidationError) as error:
        access_request_decide(actor=moderator.user, request=request, approve=True)
    assert "country" in error.value.message_dict
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.PENDING
    assert not Organisation.objects.filter(name="Oficina Anticorrupción").exists()
    assert not Invitation.objects.exists()


def test_only_moderators_decide_requests(civ):
    request = _request()
    with pytest.raises(PermissionDenied):
        access_request_decide(actor=civ.user, request=request, approve=True)
    request.refresh_from_db()
    assert request.status == AccessRequestStatus.PENDING


def test_moderators_cannot_deactivate_themselves(moderator, civ):
    with pytest.raises(ValidationError) as error:
        user_set_active(actor=moderator.user, user=moderator.user, active=False)
    assert "user" in error.value.message_dict
    with pytest.raises(PermissionDenied):
        user_set_active(actor=civ.user, user=moderator.user, active=False)
    moderator.user.refresh_from_db()
    assert moderator.user.is_active


def test_moderators_group_sync_is_idempotent():
    first = set(moderators_group_sync().permissions.values_list("codename", flat=True))
    second = set(moderators_group_sync().permissions.values_list("codename", flat=True))
    assert first == second
    assert {"change_assistanceneed", "change_expertiseoffer", "view_invitation"} <= first
    assert "delete_assistanceneed" not in first


# --- one open invitation per address; re-send and revoke ----------------------------------------


def test_inviting_an_address_with_an_open_invitation_is_refused_naming_the_field(
    moderator, civ, kor, django_capture_on_commit_callbacks
):
    _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    with pytest.raises(ValidationError) as error:
        invitation_create(
            actor=moderator.user,
            email="new.person@EXAMPLE.org",
            organisation=kor.organisation,
            provider=True,
            recipient=False,
        )
    assert list(error.value.message_dict) == ["email"]
    assert "open invitation" in error.value.message_dict["email"][0]
    assert Invitation.objects.count() == 1
    assert len(mail.outbox) == 1


def test_inviting_an_existing_account_is_refused(moderator, civ):
    with pytest.raises(ValidationError) as error:
        invitation_create(
            actor=moderator.user,
            email=civ.user.email.upper(),
            organisation=civ.organisation,
            provider=True,
            recipient=False,
        )
    assert list(error.value.message_dict) == ["email"]
    assert not Invitation.objects.exists()


def test_resending_replaces_the_link_and_renews_it(moderator, civ, django_capture_on_commit_callbacks):
    old_token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    invitation = Invitation.objects.get()
    Invitation.objects.update(expires_at="2000-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        _invitation, link = invitation_resend(actor=moderator.user, invitation=invitation)
    assert link in mail.outbox[-1].body
    new_token = re.search(r"/accounts/invitations/([^/]+)/", link).group(1)
    assert invitation_for_token(old_token) is None
    assert invitation_for_token(new_token).pk == invitation.pk
    invitation_accept(token=new_token, password=STRONG)
    with pytest.raises(ValidationError):
        invitation_resend(actor=moderator.user, invitation=invitation)


def test_a_revoked_invitation_cannot_be_used_and_the_address_can_be_invited_again(
    moderator, civ, django_capture_on_commit_callbacks
):
    token = _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    invitation = invitation_revoke(actor=moderator.user, invitation=Invitation.objects.get())
    assert invitation.revoked_by == moderator.user
    assert invitation_for_token(token) is None
    with pytest.raises(ValidationError, match="not valid"):
        invitation_accept(token=token, password=STRONG)
    _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    assert Invitation.objects.count() == 2


def test_only_moderators_resend_or_revoke(moderator, civ, django_capture_on_commit_callbacks):
    _invite(moderator, civ.organisation, django_capture_on_commit_callbacks, provider=True, recipient=False)
    invitation = Invitation.objects.get()
    with pytest.raises(PermissionDenied):
        invitation_resend(actor=civ.user, invitation=invitation)
    with pytest.raises(PermissionDenied):
        invitation_revoke(actor=civ.user, invitation=invitation)
