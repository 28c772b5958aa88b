"""Read-side queries about users."""

from __future__ import annotations

from typing import cast

from django.http import HttpRequest
from rest_framework.request import Request

from accounts.models import Invitation, Membership, User


def request_user(request: HttpRequest | Request) -> User:
    """The user a request acts as. Every view that calls this requires sign-in (the API's default
    ``IsAuthenticated``, ``login_required`` or the admin on pages), so it is a ``User``; only while
    drf-spectacular builds the schema is it an ``AnonymousUser``, whom the scoped selectors treat
    as a member of nothing."""
    return cast(User, request.user)


def user_memberships(*, user: User):
    return Membership.objects.filter(user=user).select_related("organisation__country").order_by("organisation__name")


def user_profile(*, user: User) -> dict:
    return {
        "id": user.pk,
        "email": user.email,
        "full_name": user.full_name,
        "preferred_language": user.preferred_language,
        "is_moderator": user.is_moderator,
        "memberships": list(user_memberships(user=user)),
    }


def invitation_list_open():
    """Invitations neither accepted nor revoked (expired ones included: they can be re-sent)."""
    return (
        Invitation.objects.filter(accepted_at__isnull=True, revoked_at__isnull=True)
        .select_related("organisation__country", "invited_by")
        .order_by("-created_at")
    )


def token_list_for_user(*, user: User):
    """The user's API tokens that still work, newest first (public prefix, created, expiry)."""
    from django.db.models import Q
    from django.utils import timezone
    from knox.models import AuthToken

    return (
        AuthToken.objects.filter(user=user)
        .filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))
        .order_by("-created")
    )
