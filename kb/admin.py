"""Django admin for moderators: the moderation queue, the taxonomy, organisations.

Entries are read-only here (States write their own entries; country-led): moderators act on them
with the moderation actions, which go through ``kb.services.moderation`` like the API does. The
queue lists entries awaiting review first. List pages select related rows up front and skip the
full count, so they stay fast on hundreds of thousands of rows.
"""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from modeltranslation.admin import TranslationAdmin

from accounts.selectors import request_user
from core.web import USER_ERRORS, error_text
from kb.models import (
    AssistanceNeed,
    Country,
    EntryEvent,
    EntryStatus,
    ExpertiseOffer,
    Language,
    Modality,
    Organisation,
    Region,
    RevisionStatus,
    SearchOutbox,
    SearchSyncState,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
)
from kb.search.concepts import concept_matcher_invalidate
from kb.services.moderation import ACTION_LABELS, Action, allowed_actions, entries_transition_bulk


class ViewOnlyAdmin(admin.ModelAdmin):
    """Records written by the application (history, queues, results): looked at here, never
    added or edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# --- list filters ----------------------------------------------------------------------------------


class ModerationQueueFilter(admin.SimpleListFilter):
    title = _("moderation")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [
            ("awaiting", _("Awaiting review (new or changes)")),
            ("new", _("New submissions")),
            ("changes", _("Changes to published entries")),
        ]

    def queryset(self, request, queryset):
        if self.value() == "awaiting":
            return queryset.filter(Q(status=EntryStatus.SUBMITTED) | Q(revision_status=RevisionStatus.SUBMITTED))
        if self.value() == "new":
            return queryset.filter(status=EntryStatus.SUBMITTED)
        if self.value() == "changes":
            return queryset.filter(revision_status=RevisionStatus.SUBMITTED)
        return queryset


class _CountryPathFilter(admin.SimpleListFilter):
    """Filter by something of the entry's State; subclasses say which path and which choices."""

    country_path = ""

    def __init__(self, request, params, model, model_admin):
        self.country_path = model_admin.country_path
        super().__init__(request, params, model, model_admin)


class StateFilter(_CountryPathFilter):
    title = pgettext_lazy("country", "State")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [(c.iso3, c.display_name) for c in Country.objects.order_by("name")]

    def queryset(self, request, queryset):
        return queryset.filter(**{f"{self.country_path}__iso3": self.value()}) if self.value() else queryset


class RegionFilter(_CountryPathFilter):
    title = _("region")
    parameter_name = "region"

    def lookups(self, request, model_admin):
        return [(r.m49_code, r.display_name) for r in Region.objects.order_by("kind", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        return queryset.filter(
            Q(**{f"{self.country_path}__region__m49_code": self.value()})
            | Q(**{f"{self.country_path}__subregion__m49_code": self.value()})
        )


class ChapterFilter(admin.SimpleListFilter):
    title = _("UNCAC chapter")
    parameter_name = "chapter"

    def lookups(self, request, model_admin):
        return [(c.number, f"{c.roman}. {c.title}") for c in UncacChapter.objects.all()]

    def queryset(self, request, queryset):
        return queryset.filter(articles__chapter=self.value()).distinct() if self.value() else queryset


# --- moderation actions ----------------------------------------------------------------------------


class ReturnReasonForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (shown to the authors)"),
        widget=forms.Textarea(attrs={"rows": 5, "cols": 80}),
        required=True,
        strip=True,
    )


class EventInline(admin.TabularInline):
    model = EntryEvent
    fields = ("created_at", "action", "from_status", "to_status", "actor", "reason")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("-created_at", "-id")
    verbose_name_plural = _("history")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class EntryAdmin(admin.ModelAdmin):
    country_path = ""
    list_per_page = 50
    show_full_result_count = False
    date_hierarchy = None
    search_fields: ClassVar[tuple[str, ...]] = ("title", "external_id")
    inlines = [EventInline]
    actions = ["approve_selected", "return_selected", "archive_selected"]

    def get_ordering(self, request):
        # The queue: new submissions and submitted changes first, oldest submission first.
        awaiting_first = Case(
            When(Q(status=EntryStatus.SUBMITTED) | Q(revision_status=RevisionStatus.SUBMITTED), then=Value(0)),
            default=Value(1),
            output_field=IntegerField(),
        )
        return (awaiting_first.asc(), F("submitted_at").asc(nulls_last=True), "-updated_at", "-id")

    #: Bookkeeping a moderator has no use for on the change page (the row version is for search,
    #: pending changes are shown as a diff on the entry's page in the app, keywords as words).
    internal_fields = ("id", "row_version", "pending_revision", "keywords", "revision_status", "status")
    change_form_template = "admin/kb/entry_change_form.html"

    def get_fields(self, request, obj=None):
        names = [f.name for f in self.model._meta.fields + self.model._meta.many_to_many]
        shown = [n for n in names if n not in self.internal_fields]
        return ["moderation_state_display", *shown[:3], "keywords_display", *shown[3:]]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description=_("keywords"))
    def keywords_display(self, obj) -> str:
        return "; ".join(obj.keywords or []) or "—"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Approve / Return / … as buttons that post to the app's moderation actions (the same
        # service, the same checks and notifications as the entry's page in the app).
        obj = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        if obj is not None:
            extra["moderation_actions"] = [
                (action, ACTION_LABELS[Action(action)])
                for action in allowed_actions(obj, is_owner=False, is_moderator=True)
            ]
            extra["entry_kind"] = "offer" if isinstance(obj, ExpertiseOffer) else "need"
            extra["reason_actions"] = (Action.RETURN.value, Action.UNPUBLISH.value)
        return super().change_view(request, object_id, form_url, extra_context=extra)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description=_("moderation state"), ordering="status")
    def moderation_state_display(self, obj) -> str:
        return (
            obj.get_status_display()
            if not obj.revision_status
            else f"{obj.get_status_display()} · {obj.get_revision_status_display()}"
        )

    def _transition(self, request: HttpRequest, queryset: QuerySet, action: Action, reason: str = "") -> None:
        entries = list(queryset)
        try:
            count = entries_transition_bulk(
                actor=request_user(request), entries=entries, action=action.value, reason=reason
            )
        except (*USER_ERRORS, PermissionDenied) as exc:
            self.message_user(request, _("Nothing was changed: %(error)s") % {"error": error_text(exc)}, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext("%(count)d entry: “%(action)s” done.", "%(count)d entries: “%(action)s” done.", count)
            % {"count": count, "action": ACTION_LABELS[action]},
            messages.SUCCESS,
        )

    @admin.action(description=_("Approve (publish the entry or its submitted changes)"))
    def approve_selected(self, request, queryset):
        self._transition(request, queryset, Action.PUBLISH)

    @admin.action(description=_("Archive"))
    def archive_selected(self, request, queryset):
        self._transition(request, queryset, Action.ARCHIVE)

    @admin.action(description=_("Return to the authors with a reason…"))
    def return_selected(self, request, queryset):
        form = ReturnReasonForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            self._transition(request, queryset, Action.RETURN, form.cleaned_data["reason"])
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Return to the authors"),
            "entries": queryset,
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/kb/return_reason.html", context)


@admin.register(ExpertiseOffer)
class ExpertiseOfferAdmin(EntryAdmin):
    country_path = "organisation__country"
    list_display = (
        "title",
        "organisation",
        "provider_state",
        "language",
        "moderation_state_display",
        "capacity",
        "submitted_at",
        "updated_at",
    )
    list_select_related = ("organisation__country", "language")
    list_filter = (
        ModerationQueueFilter,
        "status",
        StateFilter,
        RegionFilter,
        ChapterFilter,
        "articles",
        "ta_types",
        "thematic_areas",
        "language",
    )
    search_fields = ("title", "external_id", "organisation__name")

    @admin.display(description=pgettext_lazy("country", "State"), ordering="organisation__country__name")
    def provider_state(self, obj: ExpertiseOffer) -> str:
        country = obj.organisation.country
        return country.display_name if country is not None else str(_("International"))


@admin.register(AssistanceNeed)
class AssistanceNeedAdmin(EntryAdmin):
    country_path = "country"
    list_display = (
        "title",
        "country",
        "organisation",
        "language",
        "priority",
        "south_south",
        "moderation_state_display",
        "submitted_at",
        "updated_at",
    )
    list_select_related = ("country", "organisation", "language")
    list_filter = (
        ModerationQueueFilter,
        "status",
        StateFilter,
        RegionFilter,
        ChapterFilter,
        "articles",
        "ta_types",
        "thematic_areas",
        "priority",
        "south_south",
        "language",
    )
    search_fields = ("title", "external_id", "country__name", "organisation__name")


@admin.register(EntryEvent)
class EntryEventAdmin(ViewOnlyAdmin):
    list_display = (
        "created_at",
        "entry_kind",
        "entry_id",
        "entry_title",
        "action",
        "from_status",
        "to_status",
        "actor",
        "reason",
    )
    list_filter = ("entry_kind", "action")
    list_select_related = ("actor",)
    search_fields = ("entry_title", "reason", "actor__email")
    show_full_result_count = False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- taxonomy and reference data -----------------------------------------------------------------


class TaxonomyAdmin(TranslationAdmin):
    list_display = ("code", "label", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("code", "label")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # Recognition terms feed search; new terms apply to entries indexed from now on
        # (run `manage.py rebuild_search_index` to apply them to everything).
        concept_matcher_invalidate()


@admin.register(ThematicArea)
class ThematicAreaAdmin(TaxonomyAdmin):
    filter_horizontal = ("articles",)


@admin.register(TAType)
class TATypeAdmin(TaxonomyAdmin):
    pass


@admin.register(Modality)
class ModalityAdmin(TranslationAdmin):
    list_display = ("code", "label", "sort_order", "is_active")
    list_editable = ("sort_order", "is_active")


@admin.register(UncacChapter)
class UncacChapterAdmin(TranslationAdmin):
    list_display = ("number", "roman", "title", "first_article", "last_article")


@admin.register(UncacArticle)
class UncacArticleAdmin(TranslationAdmin):
    list_display = ("number", "title", "chapter")
    list_filter = ("chapter",)
    list_select_related = ("chapter",)


@admin.register(Country)
class CountryAdmin(admin.ModelAdmin):
    list_display = ("iso3", "name", "region", "subregion", "regional_group", "g77", "m49_developing", "ldc", "sids")
    list_filter = ("region", "regional_group", "g77", "m49_developing", "ldc", "sids")
    list_select_related = ("region", "subregion")
    search_fields = ("iso3", "name")


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("m49_code", "name", "kind", "parent")
    list_filter = ("kind",)


@admin.register(Language)
class LanguageAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "is_un_language")
    list_filter = ("is_un_language",)
    search_fields = ("code", "name")


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "acronym", "country", "kind")
    list_filter = ("kind", ("country", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("country",)
    search_fields = ("name", "acronym")
    autocomplete_fields = ("country",)


@admin.register(SearchSyncState)
class SearchSyncStateAdmin(admin.ModelAdmin):
    list_display = ("entry_kind", "last_reconciled_at", "last_error_at", "last_error")

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SearchOutbox)
class SearchOutboxAdmin(ViewOnlyAdmin):
    list_display = ("id", "entry_kind", "entry_id", "created_at")
    show_full_result_count = False
