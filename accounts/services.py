"""Write services for users, memberships and the moderators' group."""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import (
    MODERATORS_GROUP,
    AccessRequest,
    AccessRequestStatus,
    Invitation,
    Membership,
    NotificationEmail,
    User,
)
from accounts.tasks import EMAIL_SEND_TASK, MAIL_ERRORS
from core.tasks import enqueue
from kb.models import Organisation

logger = logging.getLogger(__name__)

#: What moderators may do in the admin: moderate entries, keep the taxonomy and organisations,
#: give focal-point roles (memberships) and inspect matching. Accounts themselves (passwords,
#: staff and superuser flags, groups) are not theirs: moderators invite and deactivate people on
#: the app's People pages, and user administration in the admin is for superusers only
#: (``accounts.admin.UserAdmin``), so a moderator cannot raise their own privileges.
MODERATOR_PERMISSIONS = {
    "kb": [
        "view_expertiseoffer", "change_expertiseoffer", "view_assistanceneed", "change_assistanceneed",
        "view_entryevent", "view_organisation", "add_organisation", "change_organisation",
        "view_thematicarea", "add_thematicarea", "change_thematicarea",
        "view_tatype", "change_tatype", "view_modality", "change_modality",
        "view_uncacarticle", "view_uncacchapter", "view_country", "view_region", "view_language",
        "view_searchsyncstate", "view_searchoutbox",
    ],
    "accounts": [
        "view_membership", "add_membership", "change_membership", "delete_membership",
        "view_invitation", "view_accessrequest", "change_accessrequest",
    ],
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
        membership = _membership_add_roles(user=user, organisation=organisation, provider=provider, recipient=recipient)
    user.__dict__.pop("_ta_scope", None)
    return membership


def _membership_add_roles(*, user: User, organisation: Organisation, provider: bool, recipient: bool) -> Membership:
    """Inside the caller's transaction: add roles to the user's membership, creating it if needed."""
    membership, _created = Membership.objects.select_for_update().get_or_create(
        user=user,
        organisation=organisation,
        defaults={"is_provider_focal_point": provider, "is_recipient_focal_point": recipient},
    )
    membership.is_provider_focal_point |= provider
    membership.is_recipient_focal_point |= recipient
    membership.full_clean()
    membership.save()
    return membership


# --- invitations and access requests ---------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise PermissionDenied(_("Only moderators can do this."))


def email_send_on_commit(*, subject: str, body: str, to: list[str]) -> None:
    """Send an e-mail through the worker once the current transaction commits (retried there while
    the mail server is down). With the broker unreachable it is sent from this process instead, so
    the message is not lost; if that fails too, the failure is logged and the caller's change stands
    (a moderator can re-send an invitation from the People page)."""

    def send() -> None:
        if enqueue(EMAIL_SEND_TASK, subject, body, to):
            return
        try:
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, to, fail_silently=False)
        except MAIL_ERRORS:
            logger.error(
                "e-mail %r to %s not sent: the broker and the mail server are unreachable", subject, to, exc_info=True
            )

    transaction.on_commit(send)


def _invitation_email(invitation: Invitation, token: str) -> str:
    """Send the invitation's link after commit; returns the link."""
    link = settings.SITE_URL.rstrip("/") + reverse("invitation-accept", args=[token])
    subject = _("You are invited to TA Exchange")
    body = _(
        "You have been invited to act for %(org)s on TA Exchange, the knowledge base of "
        "anti-corruption technical assistance.\n\nSet your password here (the link works once, "
        "until %(expires)s):\n%(link)s"
    ) % {"org": invitation.organisation.name, "expires": invitation.expires_at.strftime("%Y-%m-%d"), "link": link}
    email_send_on_commit(subject=subject, body=body, to=[invitation.email])
    return link


def _invitation_token(invitation: Invitation) -> str:
    """Give ``invitation`` a new one-time token and a full validity period (old links stop working)."""
    token = secrets.token_urlsafe(32)
    invitation.token_hash = _token_hash(token)
    invitation.expires_at = timezone.now() + timedelta(days=settings.ACCOUNT_INVITATION_DAYS)
    return token


def _invitation_new(
    *, actor: User, email: str, organisation: Organisation, provider: bool, recipient: bool, full_name: str
) -> tuple[Invitation, str]:
    """Create an invitation inside the caller's transaction; the e-mail goes after commit.

    Refused, naming the ``email`` field, when the address already has an account (roles are added
    to it instead) or an invitation that is still open (re-send or revoke that one)."""
    if not (provider or recipient):
        raise ValidationError({"roles": _("Choose at least one role.")})
    email = email.strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": _(
                    "%(email)s already has an account. Add the organisation to its roles in the admin "
                    "(Memberships) instead of inviting it."
                )
                % {"email": email}
            }
        )
    pending = (
        Invitation.objects.select_for_update()
        .filter(email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True)
        .first()
    )
    if pending is not None:
        raise ValidationError(
            {
                "email": _("%(email)s already has an open invitation (for %(org)s). Re-send or revoke it under People.")
                % {"email": email, "org": pending.organisation.name}
            }
        )
    invitation = Invitation(
        email=email,
        full_name=full_name,
        organisation=organisation,
        is_provider_focal_point=provider,
        is_recipient_focal_point=recipient,
        invited_by=actor,
    )
    token = _invitation_token(invitation)
    invitation.full_clean()
    invitation.save()
    return invitation, _invitation_email(invitation, token)


def _open_invitation(invitation: Invitation) -> Invitation:
    """``invitation`` locked, if it is still open (neither accepted nor revoked)."""
    locked = Invitation.objects.select_for_update().select_related("organisation").get(pk=invitation.pk)
    if locked.accepted_at is not None:
        raise ValidationError({"invitation": _("This invitation has already been accepted.")})
    if locked.revoked_at is not None:
        raise ValidationError({"invitation": _("This invitation has been revoked.")})
    return locked


def invitation_resend(*, actor: User, invitation: Invitation) -> tuple[Invitation, str]:
    """Send an open invitation again with a new link and a new validity period."""
    _require_moderator(actor)
    with transaction.atomic(durable=True):
        locked = _open_invitation(invitation)
        token = _invitation_token(locked)
        locked.save(update_fields=["token_hash", "expires_at"])
        return locked, _invitation_email(locked, token)


def invitation_revoke(*, actor: User, invitation: Invitation) -> Invitation:
    """Withdraw an open invitation: its link stops working; the row stays for the record."""
    _require_moderator(actor)
    with transaction.atomic(durable=True):
        locked = _open_invitation(invitation)
        locked.revoked_at = timezone.now()
        locked.revoked_by = actor
        locked.save(update_fields=["revoked_at", "revoked_by"])
        return locked


def invitation_create(
    *,
    actor: User,
    email: str,
    organisation: Organisation,
    provider: bool,
    recipient: bool,
    full_name: str = "",
) -> tuple[Invitation, str]:
    """A moderator invites someone; returns the invitation and the one-time link (also e-mailed)."""
    _require_moderator(actor)
    with transaction.atomic(durable=True):
        return _invitation_new(
            actor=actor,
            email=email,
            organisation=organisation,
            provider=provider,
            recipient=recipient,
            full_name=full_name,
        )


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link points to, if it is still usable."""
    invitation = Invitation.objects.filter(token_hash=_token_hash(token)).select_related("organisation").first()
    if invitation is None or not invitation.is_open or invitation.is_expired:
        return None
    return invitation


def invitation_accept(*, token: str, password: str = "", full_name: str = "", actor: User | None = None) -> User:
    """Use a one-time link: create the account with its password and grant the roles.

    If the address already has an account, the link only adds the roles, and only for that
    account signed in (``actor``): it never sets an existing account's password, and never
    re-activates a deactivated account (deactivation also revokes its open invitations)."""
    from django.contrib.auth.password_validation import validate_password

    with transaction.atomic(durable=True):
        invitation = (
            Invitation.objects.select_for_update()
            .filter(token_hash=_token_hash(token))
            .select_related("organisation")
            .first()
        )
        if invitation is None or not invitation.is_open:
            raise ValidationError({"token": _("This invitation link has already been used or is not valid.")})
        if invitation.expires_at < timezone.now():
            raise ValidationError({"token": _("This invitation link has expired; ask a moderator for a new one.")})
        user = User.objects.filter(email__iexact=invitation.email).first()
        if user is not None:
            if not user.is_active:
                raise ValidationError(
                    {"token": _("This account has been deactivated; ask the secretariat to restore it.")}
                )
            if actor is None or actor.pk != user.pk:
                raise ValidationError(
                    {"token": _("This address already has an account: sign in with it, then open this link again.")}
                )
        else:
            user = User(email=invitation.email, full_name=full_name or invitation.full_name)
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise ValidationError({"password": exc.messages}) from exc
            user.set_password(password)
            if full_name:
                user.full_name = full_name
            user.save()
        _membership_add_roles(
            user=user,
            organisation=invitation.organisation,
            provider=invitation.is_provider_focal_point,
            recipient=invitation.is_recipient_focal_point,
        )
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
    return user


def access_request_create(
    *,
    email: str,
    full_name: str,
    organisation: Organisation | None,
    organisation_name: str,
    country,
    provider: bool,
    recipient: bool,
    message: str = "",
) -> AccessRequest:
    with transaction.atomic(durable=True):
        request = AccessRequest(
            email=email.strip().lower(),
            full_name=full_name,
            organisation=organisation,
            organisation_name=organisation_name.strip(),
            country=country,
            wants_provider=provider,
            wants_recipient=recipient,
            message=message,
        )
        request.full_clean()
        request.save()
    return request


def access_request_decide(*, actor: User, request: AccessRequest, approve: bool, reason: str = "") -> AccessRequest:
    """Approve (creating the organisation if needed and sending an invitation) or refuse, atomically."""
    _require_moderator(actor)
    if not approve and not reason.strip():
        raise ValidationError({"reason": _("Give the reason for refusing; it is sent to the requester.")})
    with transaction.atomic(durable=True):
        request = AccessRequest.objects.select_for_update().get(pk=request.pk)
        if request.status != AccessRequestStatus.PENDING:
            raise ValidationError({"status": _("This request has already been decided.")})
        request.status = AccessRequestStatus.APPROVED if approve else AccessRequestStatus.REFUSED
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_reason = reason.strip()
        if approve:
            if request.organisation is None:
                if request.country is None:
                    raise ValidationError({"country": _("Choose the State of the new organisation.")})
                request.organisation, _created = Organisation.objects.get_or_create(
                    name=request.organisation_name, country=request.country
                )
            _invitation_new(
                actor=actor,
                email=request.email,
                organisation=request.organisation,
                provider=request.wants_provider,
                recipient=request.wants_recipient,
                full_name=request.full_name,
            )
        else:
            subject = _("Your request for access to TA Exchange")
            body = _("Your request was not approved. The secretariat says:\n\n%(reason)s") % {
                "reason": request.decision_reason
            }
            email_send_on_commit(subject=subject, body=body, to=[request.email])
        request.save()
    return request


def user_set_active(*, actor: User, user: User, active: bool) -> User:
    """Deactivate (or restore) an account. Deactivating also revokes the address's open
    invitations and the account's API tokens, so nothing left behind can sign it back in."""
    _require_moderator(actor)
    if user.pk == actor.pk and not active:
        raise ValidationError({"user": _("You cannot deactivate your own account.")})
    if user.is_superuser and not actor.is_superuser:
        raise PermissionDenied(_("Only a superuser can change a superuser's account."))
    with transaction.atomic(durable=True):
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            Invitation.objects.filter(
                email__iexact=user.email, accepted_at__isnull=True, revoked_at__isnull=True
            ).update(revoked_at=timezone.now(), revoked_by=actor)
            tokens_revoke_all(user=user)
    return user


# --- API tokens ------------------------------------------------------------------------------------
# Tokens are django-rest-knox's: only a hash is stored, each expires (``REST_KNOX["TOKEN_TTL"]``),
# a user holds at most ``API_TOKENS_PER_USER`` (the oldest goes first), and a password change
# revokes them all (``accounts.security.RevokeTokensOnPasswordChange``).


def token_create(*, user: User):
    """A new API token for ``user``; returns (token row, the secret shown once)."""
    from knox.models import AuthToken

    with transaction.atomic(durable=True):
        token, secret = AuthToken.objects.create(user=user)
        keep = (
            AuthToken.objects.filter(user=user)
            .order_by("-created")
            .values_list("digest", flat=True)[: settings.API_TOKENS_PER_USER]
        )
        AuthToken.objects.filter(user=user).exclude(digest__in=list(keep)).delete()
    return token, secret


def token_revoke(*, user: User, token_key: str) -> bool:
    """Revoke one of ``user``'s tokens (named by its public prefix); False if there is none."""
    from knox.models import AuthToken

    deleted, _detail = AuthToken.objects.filter(user=user, token_key=token_key).delete()
    return bool(deleted)


def tokens_revoke_all(*, user: User) -> int:
    from knox.models import AuthToken

    deleted, _detail = AuthToken.objects.filter(user=user).delete()
    return deleted


def user_set_notification_email(*, user: User, value: str) -> User:
    """How ``user`` hears of notifications by e-mail: at once, in a daily digest, or not at all."""
    if value not in NotificationEmail.values:
        raise ValidationError(
            {
                "notification_email": _("Notification e-mails: choose one of %(choices)s.")
                % {"choices": ", ".join(map(str, NotificationEmail.labels))}
            }
        )
    with transaction.atomic(durable=True):
        User.objects.filter(pk=user.pk).update(notification_email=value)
    user.notification_email = value
    return user
