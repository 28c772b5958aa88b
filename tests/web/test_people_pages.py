"""The secretariat's People page: pending invitations listed, re-sent and revoked; inviting an
address twice or an existing account refused beside the field; deactivation asks first."""

from __future__ import annotations

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import Invitation, User

pytestmark = pytest.mark.django_db


def browser(actor) -> Client:
    client = Client()
    client.force_login(actor.user)
    return client


def invite(client, organisation, email="new.person@example.org"):
    return client.post(reverse("web:invite"), {"email": email, "organisation": organisation.pk, "provider": "on"})


def test_invitations_are_listed_resent_and_revoked(moderator, civ, django_capture_on_commit_callbacks):
    client = browser(moderator)
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(client, civ.organisation).status_code == 302
    invitation = Invitation.objects.get()
    page = client.get(reverse("web:people")).content.decode()
    assert "new.person@example.org" in page
    assert reverse("web:invitation-act", args=[invitation.pk, "resend"]) in page
    old_hash = invitation.token_hash
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("web:invitation-act", args=[invitation.pk, "resend"]))
    invitation.refresh_from_db()
    assert invitation.token_hash != old_hash
    assert len(mail.outbox) == 2
    client.post(reverse("web:invitation-act", args=[invitation.pk, "revoke"]))
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    people = client.get(reverse("web:people")).content.decode()
    assert "No pending invitations." in people


def test_inviting_twice_or_an_existing_account_says_so_beside_the_address(moderator, civ):
    client = browser(moderator)
    invite(client, civ.organisation)
    again = invite(client, civ.organisation)
    assert again.status_code == 200
    assert "open invitation" in again.context["form"].errors["email"][0]
    existing = invite(client, civ.organisation, email=civ.user.email)
    assert "already has an account" in existing.context["form"].errors["email"][0]
    assert Invitation.objects.count() == 1


def test_invitation_links_point_at_site_url(moderator, civ, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "http://127.0.0.1:8011"
    with django_capture_on_commit_callbacks(execute=True):
        invite(browser(moderator), civ.organisation)
    assert "http://127.0.0.1:8011/accounts/invitations/" in mail.outbox[-1].body


def test_deactivation_asks_first_then_happens(moderator, civ):
    client = browser(moderator)
    url = reverse("web:set-active", args=[civ.user.pk, "deactivate"])
    people = client.get(reverse("web:people")).content.decode()
    assert f'href="{url}"' in people  # a link to the confirmation, not a one-click button
    page = client.get(url)
    assert page.status_code == 200
    assert "no longer be able to sign in" in page.content.decode()
    assert User.objects.get(pk=civ.user.pk).is_active
    client.post(url, {"confirm": "yes"})
    assert not User.objects.get(pk=civ.user.pk).is_active
    client.post(reverse("web:set-active", args=[civ.user.pk, "activate"]))
    assert User.objects.get(pk=civ.user.pk).is_active


def test_people_actions_are_for_moderators_only(civ, kor):
    client = browser(civ)
    assert client.get(reverse("web:set-active", args=[kor.user.pk, "deactivate"])).status_code == 403
    assert client.post(reverse("web:set-active", args=[kor.user.pk, "deactivate"])).status_code == 403
    assert User.objects.get(pk=kor.user.pk).is_active


def test_a_moderator_deactivating_a_superuser_is_told_why_not(moderator):
    """The service refuses (PermissionDenied with its reason); the page says so instead of failing."""
    admin = User.objects.create_superuser(email="root@example.org", password="x" * 16)
    response = browser(moderator).post(reverse("web:set-active", args=[admin.pk, "deactivate"]), follow=True)
    assert response.status_code == 200
    assert "Only a superuser can change a superuser" in " ".join(str(m) for m in response.context["messages"])
    assert User.objects.get(pk=admin.pk).is_active
