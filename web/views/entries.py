"""Register and edit expertise, post and edit needs, and move them through moderation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Membership
from core.web import USER_ERRORS, show_error
from kb.models import AssistanceNeed, EntryStatus, ExpertiseOffer, KnowledgeEntry, Organisation
from kb.selectors import entry_can_manage, entry_contact_choices, need_list_for_user, offer_list_for_user, user_scope
from kb.services.entries import entry_delete, entry_snapshot, entry_update, need_create, offer_create
from kb.services.moderation import Action, entry_transition
from web.forms import NeedForm, OfferForm, ReasonForm
from web.views.browse import _entry
from web.views.common import AuthenticatedHttpRequest

FORMS = {"offer": OfferForm, "need": NeedForm}


def _organisations(request: AuthenticatedHttpRequest, kind: str) -> QuerySet[Organisation]:
    scope = user_scope(request.user)
    ids = scope.provider_org_ids if kind == "offer" else scope.recipient_org_ids
    qs = Organisation.objects.filter(pk__in=ids).select_related("country")
    return qs.exclude(country__isnull=True) if kind == "need" else qs


@login_required
def entry_create(request: AuthenticatedHttpRequest, kind: str) -> HttpResponse:
    organisations = _organisations(request, kind)
    if not organisations.exists():
        raise PermissionDenied
    contacts = Membership.objects.filter(organisation__in=organisations, user__is_active=True).select_related(
        "user", "organisation"
    )
    form = FORMS[kind](
        request.POST or None,
        organisations=organisations,
        contacts=list(contacts.order_by("organisation__name", "user__full_name")),
        initial={"organisation": organisations.first(), "contact_person": request.user.email},
    )
    if request.method == "POST" and form.is_valid():
        submit = "submit" in request.POST
        create = offer_create if kind == "offer" else need_create
        try:
            entry = create(
                actor=request.user,
                organisation=form.cleaned_data["organisation"],
                content=form.to_content(),
                submit=submit,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Saved and submitted for moderation.") if submit else _("Saved as a draft."))
            return redirect("web:entry", kind=kind, pk=entry.pk)
    return render(request, "web/entry_form.html", {"form": form, "kind": kind, "creating": True})


@login_required
def entry_edit(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    entry = _entry(request, kind, pk)
    if not entry_can_manage(user=request.user, entry=entry):
        raise PermissionDenied
    initial = entry.pending_revision or entry_snapshot(entry)
    initial = {**initial, "articles": [str(a) for a in initial.get("articles", [])]}
    form = FORMS[kind](
        request.POST or None, initial=initial, editing=True, contacts=list(entry_contact_choices(entry=entry))
    )
    if request.method == "POST" and form.is_valid():
        try:
            updated = entry_update(
                actor=request.user, entry=entry, content=form.to_content(), submit="submit" in request.POST
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        except USER_ERRORS as exc:
            show_error(request, exc)
        else:
            if updated.status == EntryStatus.PUBLISHED:
                messages.success(
                    request, _("Your changes were sent for review; the published version stays visible meanwhile.")
                )
            else:
                messages.success(request, _("Saved."))
            return redirect("web:entry", kind=kind, pk=updated.pk)
    return render(request, "web/entry_form.html", {"form": form, "kind": kind, "entry": entry, "creating": False})


def _edit_form_with_errors(
    request: AuthenticatedHttpRequest, kind: str, entry: KnowledgeEntry, error: ValidationError
) -> HttpResponse:
    """The entry's edit form showing why it cannot be submitted, each reason beside its field."""
    initial = entry.pending_revision or entry_snapshot(entry)
    form = FORMS[kind](
        initial={**initial, "articles": [str(a) for a in initial.get("articles", [])]},
        editing=True,
        contacts=list(entry_contact_choices(entry=entry)),
    )
    form.add_service_errors(error)
    context = {"form": form, "kind": kind, "entry": entry, "creating": False}
    return render(request, "web/entry_form.html", context, status=400)


@login_required
def entry_delete_confirm(request: AuthenticatedHttpRequest, kind: str, pk: int) -> HttpResponse:
    """Deleting a draft cannot be undone: a page says what will go, and a POST from it deletes."""
    entry = _entry(request, kind, pk)
    if not entry_can_manage(user=request.user, entry=entry):
        raise PermissionDenied
    if request.method == "POST":
        try:
            entry_delete(actor=request.user, entry=entry)
        except USER_ERRORS as exc:
            show_error(request, exc)
            return redirect("web:entry", kind=kind, pk=pk)
        messages.success(request, _("Deleted: %(title)s") % {"title": entry.title})
        return redirect("web:my-entries")
    return render(request, "web/confirm_delete.html", {"entry": entry, "kind": kind})


@login_required
@require_POST
def entry_action(request: AuthenticatedHttpRequest, kind: str, pk: int, action: str) -> HttpResponse:
    if action not in {a.value for a in Action}:
        raise BadRequest(f"unknown action: {action[:40]}")
    entry = _entry(request, kind, pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        entry_transition(actor=request.user, entry=entry, action=action, reason=form.cleaned_data.get("reason", ""))
    except USER_ERRORS as exc:
        if isinstance(exc, ValidationError) and action == "submit" and set(getattr(exc, "error_dict", ())) - {"reason"}:
            # A submission missing content: show the fields to complete, with their reasons.
            return _edit_form_with_errors(request, kind, entry, exc)
        show_error(request, exc)
    else:
        messages.success(request, _("Done."))
    # The moderation queue acts on its rows and comes back to itself; anywhere else, the entry.
    if request.POST.get("next") == reverse("web:moderation-queue"):
        return redirect("web:moderation-queue")
    return redirect("web:entry", kind=kind, pk=pk)


@login_required
def my_entries(request: AuthenticatedHttpRequest) -> HttpResponse:
    scope = user_scope(request.user)
    offers = offer_list_for_user(user=request.user).filter(scope.owns(ExpertiseOffer))
    needs = need_list_for_user(user=request.user).filter(scope.owns(AssistanceNeed))
    return render(
        request,
        "web/my_entries.html",
        {
            "offers": offers.order_by("-updated_at")[:200],
            "needs": needs.order_by("-updated_at")[:200],
            "can_offer": bool(scope.provider_org_ids),
            "can_need": bool(scope.recipient_org_ids),
            "models": (ExpertiseOffer, AssistanceNeed),
        },
    )
