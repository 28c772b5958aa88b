"""Read-side queries about users."""

from __future__ import annotations

from accounts.models import Membership, User


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
