"""Users and their membership of organisations.

Invariants:
- A user signs in with their e-mail address, which is unique (case-insensitively).
- A focal point acts for an organisation through a ``Membership`` carrying their roles there
  (provider focal point, recipient focal point, or both). A membership always has a role.
- Moderators are the secretariat: members of the "Moderators" group (and staff, for the admin).
"""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

MODERATORS_GROUP = "Moderators"


class EmailUserManager(UserManager):
    """Creates users keyed by e-mail instead of a username."""

    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):  # type: ignore[override]
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class NotificationEmail(models.TextChoices):
    """How a user hears of their notifications by e-mail (they are always in the app)."""

    IMMEDIATE = "immediate", _("One e-mail per notification, at once")
    DAILY = "daily", _("One e-mail a day with the day's notifications")
    NONE = "none", _("No e-mail (in the app only)")


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    first_name = None  # type: ignore[assignment]
    last_name = None  # type: ignore[assignment]
    email = models.EmailField(_("e-mail address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    notification_email = models.CharField(
        _("notification e-mails"), max_length=10, choices=NotificationEmail.choices, default=NotificationEmail.IMMEDIATE
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[EmailUserManager] = EmailUserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name or self.email

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    @cached_property
    def is_moderator(self) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return self.groups.filter(name=MODERATORS_GROUP).exists()


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("user"),
    )
    organisation = models.ForeignKey(
        "kb.Organisation",
        on_delete=models.CASCADE,
        related_name="memberships",
        verbose_name=_("organisation"),
    )
    is_provider_focal_point = models.BooleanField(_("provider focal point"), default=False)
    is_recipient_focal_point = models.BooleanField(_("recipient focal point"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation"], name="accounts_membership_unique"),
            models.CheckConstraint(
                condition=models.Q(is_provider_focal_point=True) | models.Q(is_recipient_focal_point=True),
                name="accounts_membership_has_role",
                violation_error_message=_("A membership needs at least one focal-point role."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.organisation}"

    @property
    def role_labels(self) -> list[str]:
        labels = []
        if self.is_provider_focal_point:
            labels.append(str(_("Provider focal point")))
        if self.is_recipient_focal_point:
            labels.append(str(_("Recipient focal point")))
        return labels


class Invitation(models.Model):
    """A moderator invites someone to act as focal point for an organisation.

    The e-mailed link carries a random token; only its SHA-256 is stored. The link works once and
    expires (``ACCOUNT_INVITATION_DAYS``); re-sending replaces the token (the old link stops
    working), revoking keeps the row for the record and makes the link useless. An address has at
    most one open invitation (``accounts.services``).
    """

    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    organisation = models.ForeignKey(
        "kb.Organisation", on_delete=models.CASCADE, related_name="invitations", verbose_name=_("organisation")
    )
    is_provider_focal_point = models.BooleanField(_("provider focal point"), default=False)
    is_recipient_focal_point = models.BooleanField(_("recipient focal point"), default=False)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("invited by")
    )
    created_at = models.DateTimeField(_("sent"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("revoked by"),
    )

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_provider_focal_point=True) | models.Q(is_recipient_focal_point=True),
                name="accounts_invitation_has_role",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} → {self.organisation}"

    @property
    def is_open(self) -> bool:
        """Neither accepted nor revoked (it may have expired: it can then be re-sent)."""
        return self.accepted_at is None and self.revoked_at is None

    @property
    def is_expired(self) -> bool:
        from django.utils import timezone

        return self.expires_at < timezone.now()


class AccessRequestStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


class AccessRequest(models.Model):
    """Someone asks for access on behalf of an organisation; a moderator approves or refuses."""

    email = models.EmailField(_("e-mail address"))
    full_name = models.CharField(_("full name"), max_length=200)
    organisation = models.ForeignKey(
        "kb.Organisation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="access_requests",
        verbose_name=_("organisation"),
    )
    organisation_name = models.CharField(_("organisation (if not listed)"), max_length=200, blank=True)
    country = models.ForeignKey(
        "kb.Country", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("State")
    )
    wants_provider = models.BooleanField(_("to offer expertise"), default=False)
    wants_recipient = models.BooleanField(_("to post needs"), default=False)
    message = models.TextField(_("message"), blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=AccessRequestStatus.choices, default=AccessRequestStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.TextField(_("reason"), blank=True)
    created_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("access request")
        verbose_name_plural = _("access requests")
        ordering = ["status", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(wants_provider=True) | models.Q(wants_recipient=True),
                name="accounts_accessrequest_has_role",
                violation_error_message=_("Say whether you want to offer expertise, post needs, or both."),
            ),
            models.CheckConstraint(
                condition=models.Q(organisation__isnull=False) | ~models.Q(organisation_name=""),
                name="accounts_accessrequest_names_organisation",
                violation_error_message=_("Choose your organisation or give its name."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.email} ({self.get_status_display()})"
