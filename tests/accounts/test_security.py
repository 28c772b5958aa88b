"""Sign-in defences: no privilege escalation through the admin, brute-force lockout on every
login path, throttled anonymous forms, expiring and revocable API tokens."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from knox.models import AuthToken
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services import token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "pass-word-123"  # tests.factories.UserFactory


@pytest.fixture(autouse=True)
def _fresh_limits(settings):
    cache.clear()
    settings.AXES_FAILURE_LIMIT = 3
    yield
    cache.clear()


def _moderator_client(moderator) -> Client:
    client = Client()
    client.force_login(moderator.user)
    return client


# --- the admin: user administration is for superusers only ---------------------------------------


def test_a_moderator_cannot_administer_users_in_the_admin(moderator, civ):
    client = _moderator_client(moderator)
    for target in (civ.user, moderator.user):
        assert client.get(reverse("admin:accounts_user_change", args=[target.pk])).status_code == 403
        assert client.get(reverse("admin:auth_user_password_change", args=[target.pk])).status_code == 403
        response = client.post(
            reverse("admin:accounts_user_change", args=[target.pk]),
            {"email": target.email, "is_active": "on", "is_staff": "on", "is_superuser": "on"},
        )
        assert response.status_code == 403
        response = client.post(
            reverse("admin:auth_user_password_change", args=[target.pk]),
            {"password1": "Taken-over-42!", "password2": "Taken-over-42!"},
        )
        assert response.status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_add")).status_code == 403
    moderator.user.refresh_from_db()
    civ.user.refresh_from_db()
    assert not moderator.user.is_superuser
    assert civ.user.check_password(PASSWORD)
    index = client.get(reverse("admin:index")).content.decode()
    assert reverse("admin:accounts_user_changelist") not in index


def test_the_moderators_group_holds_no_user_permission(moderator):
    codenames = set(moderator.user.groups.get().permissions.values_list("codename", flat=True))
    assert not codenames & {"add_user", "change_user", "delete_user", "view_user"}
    assert "change_membership" in codenames


def test_a_moderator_still_gives_roles_to_existing_accounts(moderator, civ):
    client = _moderator_client(moderator)
    other = UserFactory()
    response = client.post(
        reverse("admin:accounts_membership_add"),
        {"user": other.pk, "organisation": civ.organisation.pk, "is_provider_focal_point": "on"},
    )
    assert response.status_code == 302, response.content[:2000]
    assert other.memberships.get().organisation == civ.organisation


def test_a_superuser_administers_users(civ):
    client = Client()
    client.force_login(User.objects.create_superuser(email="root@example.org", password=PASSWORD))
    assert client.get(reverse("admin:accounts_user_change", args=[civ.user.pk])).status_code == 200
    assert client.get(reverse("admin:auth_user_password_change", args=[civ.user.pk])).status_code == 200


# --- brute force: django-axes on the web sign-in, the admin sign-in and the token endpoint -------


def _web_login(client, email, password):
    return client.post(reverse("login"), {"username": email, "password": password})


def _admin_login(client, email, password):
    return client.post(reverse("admin:login"), {"username": email, "password": password})


def _token(client, email, password):
    return client.post(reverse("auth-token"), {"username": email, "password": password}, format="json")


@pytest.mark.parametrize("login", [_web_login, _admin_login, _token])
def test_repeated_failures_lock_the_account_out_from_that_address_on_every_login_path(login):
    user = UserFactory(is_staff=True)
    client = APIClient() if login is _token else Client()
    for _attempt in range(2):
        assert login(client, user.email.upper(), "wrong-guess").status_code in (200, 400)
    assert login(client, user.email, "third-guess").status_code == 429  # the limit (3) reached
    locked = login(client, user.email, PASSWORD)  # even the right password, for a while
    assert locked.status_code == 429
    assert int(locked["Retry-After"]) > 0
    if login is _token:
        assert locked.json()["errors"][0]["code"] == "locked_out"
    else:
        assert "try" in locked.content.decode().lower() or locked.templates
    # Another address is not locked out (an attacker cannot lock a focal point out).
    elsewhere = APIClient(REMOTE_ADDR="10.9.8.7") if login is _token else Client(REMOTE_ADDR="10.9.8.7")
    assert login(elsewhere, user.email, PASSWORD).status_code in (200, 302)


def test_the_token_endpoint_gives_an_expiring_hashed_token():
    user = UserFactory()
    response = _token(APIClient(), user.email, PASSWORD)
    assert response.status_code == 200, response.content
    secret = response.json()["token"]
    assert response.json()["expiry"]
    stored = AuthToken.objects.get(user=user)
    assert secret not in (stored.digest, stored.token_key)  # only a hash and a prefix are kept
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get(reverse("me")).status_code == 200
    assert client.delete(reverse("auth-token")).status_code == 204
    assert client.get(reverse("me")).status_code == 401


def test_an_expired_token_no_longer_works():
    from django.utils import timezone

    user = UserFactory()
    _row, secret = token_create(user=user)
    AuthToken.objects.update(expiry=timezone.now() - timezone.timedelta(seconds=1))
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get(reverse("me")).status_code == 401


def test_a_password_change_revokes_every_token():
    user = UserFactory()
    _row, secret = token_create(user=user)
    token_create(user=user)
    user.set_password("a-new-Pass-word-77")
    user.save()
    assert not AuthToken.objects.filter(user=user).exists()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {secret}")
    assert client.get(reverse("me")).status_code == 401


def test_tokens_are_listed_and_revoked_on_the_account_page(civ, kor):
    row, _secret = token_create(user=civ.user)
    other, _ = token_create(user=kor.user)
    client = Client()
    client.force_login(civ.user)
    page = client.get(reverse("web:account")).content.decode()
    assert row.token_key[:8] in page
    assert other.token_key[:8] not in page
    # Someone else's token cannot be revoked from here.
    client.post(reverse("web:token-revoke", args=[other.token_key]))
    assert AuthToken.objects.filter(pk=other.pk).exists()
    assert client.post(reverse("web:token-revoke", args=[row.token_key])).status_code == 302
    assert not AuthToken.objects.filter(pk=row.pk).exists()


def test_deactivation_revokes_tokens(moderator, civ):
    from accounts.services import user_set_active

    token_create(user=civ.user)
    user_set_active(actor=moderator.user, user=civ.user, active=False)
    assert not AuthToken.objects.filter(user=civ.user).exists()


# --- anonymous forms are throttled per address and per IP ----------------------------------------


def test_password_reset_is_throttled_per_address_and_per_ip(settings, mailoutbox):
    settings.FORM_RATE_PER_ADDRESS = "2/h"
    settings.FORM_RATE_PER_IP = "4/h"
    user = UserFactory()
    client = Client()
    for _ in range(2):
        assert client.post(reverse("password_reset"), {"email": user.email}).status_code == 302
    assert client.post(reverse("password_reset"), {"email": user.email.upper()}).status_code == 429
    assert len(mailoutbox) == 2
    # Other addresses from the same IP, until the IP's own limit.
    assert client.post(reverse("password_reset"), {"email": "a@example.org"}).status_code == 302
    assert client.post(reverse("password_reset"), {"email": "b@example.org"}).status_code == 429
    assert Client(REMOTE_ADDR="10.1.2.3").post(reverse("password_reset"), {"email": "c@example.org"}).status_code == 302


def test_access_requests_are_throttled(settings, civ):
    from accounts.models import AccessRequest

    settings.FORM_RATE_PER_ADDRESS = "1/h"
    data = {
        "full_name": "A Person",
        "email": "person@example.org",
        "organisation": civ.organisation.pk,
        "wants_provider": "on",
    }
    client = Client()
    assert client.post(reverse("web:request-access"), data).status_code == 200
    assert client.post(reverse("web:request-access"), data).status_code == 429
    assert AccessRequest.objects.count() == 1


# --- browser-side policies -------------------------------------------------------------------------


def test_pages_carry_a_content_security_policy_and_a_permissions_policy(client):
    for path in ("/", reverse("login"), "/api/docs/"):
        response = client.get(path)
        policy = response["Content-Security-Policy"]
        assert "script-src 'self'" in policy
        assert "'unsafe-inline'" not in policy.split("style-src-attr")[0]
        assert "frame-ancestors 'none'" in policy
        assert "camera=()" in response["Permissions-Policy"]
