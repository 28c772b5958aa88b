"""Admin for moderators: start/cancel runs and follow them, inspect candidates and outcomes,
tune the weights, follow engagements."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _

from kb.admin import ViewOnlyAdmin
from matching.models import (
    Engagement,
    EngagementEvent,
    EngagementMessage,
    EngagementMission,
    EngagementRating,
    MatchCandidate,
    MatchingSettings,
    MatchRun,
    NeedOutcome,
    Notification,
    RunTrigger,
)
from matching.reasons import render_reasons
from matching.services.runs import MatchRunAlreadyActive, MatchRunNotActive, match_run_cancel, match_run_start


@admin.register(MatchingSettings)
class MatchingSettingsAdmin(admin.ModelAdmin):
    """One row: the weights and limits matching uses (blank = the default in settings)."""

    list_display = ("__str__", "updated_at")

    def has_add_permission(self, request) -> bool:
        return not MatchingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_changeform_initial_data(self, request):
        return dict(settings.MATCHING_DEFAULTS)


@admin.register(MatchRun)
class MatchRunAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "scope",
        "trigger",
        "status",
        "progress_display",
        "needs_total",
        "assigned_count",
        "coverage_display",
        "south_south_display",
        "created_at",
        "finished_at",
    )
    list_filter = ("scope", "status", "trigger")
    readonly_fields = [f.name for f in MatchRun._meta.fields]
    actions = ["cancel_runs"]
    change_list_template = "admin/matching/matchrun/change_list.html"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("progress"))
    def progress_display(self, run) -> str:
        return f"{run.needs_done}/{run.needs_total} ({run.progress:.0%})"

    @admin.display(description=_("coverage"))
    def coverage_display(self, run) -> str:
        return f"{run.coverage:.0%}"

    @admin.display(description=_("South-South share"))
    def south_south_display(self, run) -> str:
        return f"{run.south_south_share:.0%}"

    def get_urls(self):
        return [
            path("start/", self.admin_site.admin_view(self.start_view), name="matching_matchrun_start"),
            *super().get_urls(),
        ]

    def start_view(self, request):
        if request.method != "POST" or not self.has_change_permission(request):
            return HttpResponseRedirect(reverse("admin:matching_matchrun_changelist"))
        try:
            run = match_run_start(trigger=RunTrigger.ADMIN, requested_by=request.user)
            self.message_user(request, _("Matching run #%(id)s queued.") % {"id": run.pk}, messages.SUCCESS)
        except MatchRunAlreadyActive as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:matching_matchrun_changelist"))

    @admin.action(description=_("Cancel the selected runs"))
    def cancel_runs(self, request, queryset):
        for run in queryset:
            try:
                match_run_cancel(run=run)
                self.message_user(request, _("Run #%(id)s cancelled.") % {"id": run.pk}, messages.SUCCESS)
            except MatchRunNotActive as exc:
                self.message_user(request, f"#{run.pk}: {exc}", messages.WARNING)


@admin.register(MatchCandidate)
class MatchCandidateAdmin(ViewOnlyAdmin):
    list_display = ("need", "rank", "offer", "score", "assigned", "south_south", "run")
    list_filter = ("assigned", "south_south", "run__scope")
    list_select_related = ("need", "offer", "run")
    search_fields = ("need__title", "offer__title", "need__external_id", "offer__external_id")
    readonly_fields = (
        "run",
        "need",
        "offer",
        "rank",
        "score",
        "components",
        "reasons_text",
        "south_south",
        "assigned",
    )
    exclude = ("reasons",)
    show_full_result_count = False
    raw_id_fields = ("run", "need", "offer")

    @admin.display(description=_("reasons"))
    def reasons_text(self, candidate) -> str:
        return "\n".join(render_reasons(candidate.reasons))


@admin.register(NeedOutcome)
class NeedOutcomeAdmin(ViewOnlyAdmin):
    list_display = ("need", "providers_wanted", "providers_assigned", "reason", "run", "is_current")
    list_filter = ("is_current", "reason")
    list_select_related = ("need", "run")
    show_full_result_count = False


class EngagementEventInline(admin.TabularInline):
    model = EngagementEvent
    fields = ("created_at", "action", "from_state", "to_state", "actor", "reason", "changes")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class RatingInline(admin.TabularInline):
    model = EngagementRating
    fields = ("side", "score", "comment", "rated_by", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MissionInline(admin.TabularInline):
    model = EngagementMission
    fields = ("date", "label")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class MessageInline(admin.TabularInline):
    """The thread, read-only: moderators write on the engagement's page like either side."""

    model = EngagementMessage
    fields = ("created_at", "side", "author", "body")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Engagement)
class EngagementAdmin(admin.ModelAdmin):
    list_display = ("need", "offer", "state", "score", "south_south", "updated_at")
    list_filter = ("state", "south_south")
    list_select_related = ("need", "offer")
    search_fields = ("need__title", "offer__title")
    readonly_fields = [f.name for f in Engagement._meta.fields]
    inlines = [MissionInline, MessageInline, EngagementEventInline, RatingInline]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("user", "kind", "created_at", "read_at", "emailed_at")
    list_filter = ("kind",)
    list_select_related = ("user",)
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False
