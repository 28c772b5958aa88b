"""Admin for users and their organisation memberships.

User administration (passwords, the staff and superuser flags, groups, permissions) is for
superusers only, whatever permissions a group holds: moderators manage people through the app's
People pages (invitations, deactivation) and give roles to existing accounts through Memberships
here. A moderator therefore cannot make themselves superuser or set anyone's password.
"""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from accounts.models import AccessRequest, Invitation, Membership, User
from kb.admin import ViewOnlyAdmin


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("organisation",)


class SuperuserOnlyAdmin(admin.ModelAdmin):
    """Visible and usable only by superusers, whatever the model permissions of a group say."""

    def has_module_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_active and request.user.is_superuser


@admin.register(User)
class UserAdmin(SuperuserOnlyAdmin, BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_active", "is_staff", "last_login")
    search_fields = ("email", "full_name")
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("full_name", "preferred_language")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organisation", "is_provider_focal_point", "is_recipient_focal_point")
    list_select_related = ("user", "organisation")
    search_fields = ("user__email", "organisation__name")
    # Users are listed in a plain select: the user admin (and its autocomplete) is superusers'.
    autocomplete_fields = ("organisation",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_active=True).order_by("email")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Invitation)
class InvitationAdmin(ViewOnlyAdmin):
    """Invitations are sent from the web application (People); here they can be followed."""

    list_display = (
        "email",
        "organisation",
        "is_provider_focal_point",
        "is_recipient_focal_point",
        "created_at",
        "expires_at",
        "accepted_at",
    )
    list_select_related = ("organisation",)
    search_fields = ("email", "organisation__name")
    readonly_fields = [f.name for f in Invitation._meta.fields if f.name != "token_hash"]
    exclude = ("token_hash",)


@admin.register(AccessRequest)
class AccessRequestAdmin(admin.ModelAdmin):
    """Requests are decided in the web application (People), which sends the invitation."""

    list_display = (
        "email",
        "full_name",
        "organisation",
        "organisation_name",
        "country",
        "status",
        "created_at",
        "decided_at",
    )
    list_filter = ("status",)
    list_select_related = ("organisation", "country")
    search_fields = ("email", "full_name", "organisation_name")
    readonly_fields = [f.name for f in AccessRequest._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
