"""Write services for users, memberships and the moderators' group."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db import transaction

from accounts.models import MODERATORS_GROUP, Membership, User
from kb.models import Organisation

#: What moderators may do in the admin: moderate entries, keep the taxonomy and organisations,
#: manage accounts and inspect matching.
MODERATOR_PERMISSIONS = {
    "kb": [
        "view_expertiseoffer", "change_expertiseoffer", "view_assistanceneed", "change_assistanceneed",
        "view_entryevent", "view_organisation", "add_organisation", "change_organisation",
        "view_thematicarea", "add_thematicarea", "change_thematicarea",
        "view_tatype", "change_tatype", "view_modality", "change_modality",
        "view_uncacarticle", "view_uncacchapter", "view_country", "view_region", "view_language",
        "view_searchsyncstate", "view_searchoutbox",
    ],
    "accounts": ["view_user", "add_user", "change_user", "view_membership", "add_membership", "change_membership", "delete_membership"],
}  # fmt: skip


_extra: dict[str, list[str]] = {}


def moderators_group_sync() -> Group:
    """Create the Moderators group and give it exactly ``MODERATOR_PERMISSIONS``; idempotent."""
    group, _created = Group.objects.get_or_create(name=MODERATORS_GROUP)
    wanted = []
    for app_label, codenames in MODERATOR_PERMISSIONS.items():
        wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    for app_label, codenames in _extra.items():
        wanted += list(Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames))
    group.permissions.set(wanted)
    return group


def register_moderator_permissions(app_label: str, codenames: list[str]) -> None:
    """Let another app (matching) add what moderators may do with its models."""
    _extra[app_label] = list(codenames)


def user_create(*, email: str, password: str | None = None, full_name: str = "", preferred_language: str = "") -> User:
    with transaction.atomic(durable=True):
        user = User(email=email.strip().lower(), full_name=full_name, preferred_language=preferred_language)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
        return user


def user_make_moderator(*, user: User) -> User:
    with transaction.atomic(durable=True):
        user.is_staff = True
        user.save(update_fields=["is_staff"])
        user.groups.add(moderators_group_sync())
    user.__dict__.pop("is_moderator", None)
    return user


def membership_grant(
    *, user: User, organisation: Organisation, provider: bool = False, recipient: bool = False
) -> Membership:
    """Give ``user`` focal-point roles in ``organisation`` (adds to roles already held)."""
    with transaction.atomic(durable=True):
        membership, _created = Membership.objects.select_for_update().get_or_create(
            user=user,
            organisation=organisation,
            defaults={"is_provider_focal_point": provider, "is_recipient_focal_point": recipient},
        )
        membership.is_provider_focal_point |= provider
        membership.is_recipient_focal_point |= recipient
        membership.full_clean()
        membership.save()
    user.__dict__.pop("_ta_scope", None)
    return membership
