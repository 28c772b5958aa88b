"""Read-side queries about users."""

from __future__ import annotations

from accounts.models import Invitation, Membership, User


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
