"""The match inbox, engagements, and matching runs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from core.web import USER_ERRORS, show_error
from kb.selectors import need_list_for_user, offer_list_for_user
from matching.models import Engagement, RunTrigger
from matching.selectors import (
    active_full_run,
    engagement_list_for_user,
    engagement_messages,
    engagement_timeline,
    engagements_by_pair,
    engagements_of_provider,
    engagements_offered_to_recipient,
    need_candidates,
    need_candidates_for_user,
    need_outcome,
    needs_answered_as_recipient,
    offer_capacity_left,
    offers_of_provider,
    run_list,
)
from matching.services.collaboration import (
    engagement_abilities,
    engagement_dates_set,
    engagement_message_post,
    engagement_outcome_record,
)
from matching.services.engagements import (
    PAUSED_MESSAGE,
    EngagementAction,
    engagement_express_interest,
    engagement_offer_help,
    engagement_rate,
    engagement_transition,
)
from matching.services.runs import match_run_cancel, match_run_start
from web.forms import (
    DatesForm,
    MessageForm,
    MissionFormSet,
    OutcomeForm,
    RatingForm,
    ReasonForm,
    missions_of,
)
from web.views.attachments import engagement_attachments_context
from web.views.common import AuthenticatedHttpRequest, moderator_required


@login_required
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    """What waits for the caller: its needs with their best candidates, help offered on them, the
    engagements on its offers and the capacity each offer has left (``matching.selectors``)."""
    user = request.user
    recipient = [
        (need, list(need_candidates(user=user, need=need)[:5]), need_outcome(need=need))
        for need in needs_answered_as_recipient(user=user)[:50]
    ]
    capacity = [(offer, offer_capacity_left(offer)) for offer in offers_of_provider(user=user)[:50]]
    return render(
        request,
        "web/inbox.html",
        {
            "recipient": recipient,
            "offered": engagements_offered_to_recipient(user=user)[:100],
            "provider": engagements_of_provider(user=user)[:100],
            "capacity": capacity,
            "engaged": engagements_by_pair(user=user),
        },
    )


@login_required
def need_matches(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    need = need_list_for_user(user=request.user).filter(pk=pk).first()
    if need is None:
        raise Http404
    candidates = need_candidates_for_user(user=request.user, need=need)
    engagements = {e.offer_id: e for e in engagement_list_for_user(user=request.user).filter(need=need)}
    return render(
        request,
        "web/need_matches.html",
        {"need": need, "candidates": candidates, "outcome": need_outcome(need=need), "engagements": engagements},
    )


@login_required
@require_POST
def express_interest(request: AuthenticatedHttpRequest, need_pk: int, offer_pk: int) -> HttpResponse:
    need = get_object_or_404(need_list_for_user(user=request.user), pk=need_pk)
    offer = get_object_or_404(offer_list_for_user(user=request.user), pk=offer_pk)
    try:
        engagement = engagement_express_interest(actor=request.user, need=need, offer=offer)
    except USER_ERRORS as exc:
        show_error(request, exc)
        return redirect("web:need-matches", pk=need.pk)
    messages.success(request, _("The provider has been told of your interest."))
    return redirect("web:engagement", pk=engagement.pk)


@login_required
@require_POST
def offer_help(request: AuthenticatedHttpRequest, need_pk: int) -> HttpResponse:
    """A provider offers help on a published need with one of its organisation's published offers."""
    need = get_object_or_404(need_list_for_user(user=request.user), pk=need_pk)
    offer_pk = request.POST.get("offer", "")
    if not offer_pk.isdigit():
        messages.error(request, _("Offer: choose one of your published offers."))
        return redirect("web:entry", kind="need", pk=need.pk)
    offer = get_object_or_404(offer_list_for_user(user=request.user), pk=int(offer_pk))
    try:
        engagement = engagement_offer_help(actor=request.user, need=need, offer=offer)
    except (*USER_ERRORS, PermissionDenied) as exc:
        show_error(request, exc)
        return redirect("web:entry", kind="need", pk=need.pk)
    messages.success(request, _("The recipient has been told of your offer of help."))
    return redirect("web:engagement", pk=engagement.pk)


def _engagement_page(
    request: AuthenticatedHttpRequest, item: Engagement, *, status: int = 200, **forms: Any
) -> HttpResponse:
    """The engagement's page: its state and actions, thread, dates and timeline, ratings,
    outcome and history. ``forms`` replaces the blank forms by bound ones that failed."""
    can = engagement_abilities(user=request.user, engagement=item)
    missions = [{"date": m.date, "label": m.label} for m in item.missions.all()]
    context = {
        "item": item,
        "actions": can.actions,
        "reason_form": ReasonForm(),
        "rating_form": RatingForm() if can.can_rate else None,
        "messages_list": engagement_messages(user=request.user, engagement=item),
        "message_form": MessageForm(),
        "dates_form": DatesForm(initial={"start_date": item.start_date, "end_date": item.end_date})
        if can.can_set_dates
        else None,
        "missions_formset": MissionFormSet(initial=missions, prefix="missions") if can.can_set_dates else None,
        "outcome_form": OutcomeForm(initial={"result": item.outcome_result, "note": item.outcome_note})
        if can.can_record_outcome
        else None,
        "timeline": engagement_timeline(engagement=item),
        "events": item.events.select_related("actor")[:50],
        "capacity_left": offer_capacity_left(item.offer),
        "paused": PAUSED_MESSAGE if can.paused else "",
        "replacement": item.replaced_by if can.sees_replacement else None,
        **engagement_attachments_context(user=request.user, engagement=item, can_attach=can.can_attach),
    }
    context.update(forms)
    return render(request, "web/engagement.html", context, status=status)


@login_required
def engagement(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    item = get_object_or_404(engagement_list_for_user(user=request.user), pk=pk)
    return _engagement_page(request, item)


def _engagement_form(
    request: AuthenticatedHttpRequest,
    pk: int,
    *,
    forms: dict[str, Any],
    apply: Callable[..., object],
    done: str,
    anchor: str,
) -> HttpResponse:
    """The engagement page's forms post here alike: the engagement as the user may see it (another
    State's focal point: 404), the forms validated, the service applied; its errors are shown
    beside the fields (ValidationError) or as a message (PermissionDenied)."""
    item = get_object_or_404(engagement_list_for_user(user=request.user), pk=pk)
    checked = [form.is_valid() for form in forms.values()]  # every form validated, for its errors
    if all(checked):
        first = next(iter(forms.values()))
        try:
            apply(item, *forms.values())
        except ValidationError as exc:
            first.add_service_errors(exc)
        except PermissionDenied as exc:
            show_error(request, exc)
            return redirect("web:engagement", pk=pk)
        else:
            messages.success(request, done)
            return redirect(reverse("web:engagement", args=[pk]) + anchor)
    return _engagement_page(request, item, status=400, **forms)


@login_required
@require_POST
def engagement_message(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Write in the engagement's thread."""
    return _engagement_form(
        request,
        pk,
        forms={"message_form": MessageForm(request.POST)},
        apply=lambda item, form: engagement_message_post(
            author=request.user, engagement=item, body=form.cleaned_data["body"]
        ),
        done=_("Message sent; the other side has been told."),
        anchor="#thread",
    )


@login_required
@require_POST
def engagement_dates(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _engagement_form(
        request,
        pk,
        forms={
            "dates_form": DatesForm(request.POST),
            "missions_formset": MissionFormSet(request.POST, prefix="missions"),
        },
        apply=lambda item, form, formset: engagement_dates_set(
            actor=request.user,
            engagement=item,
            start_date=form.cleaned_data["start_date"],
            end_date=form.cleaned_data["end_date"],
            missions=missions_of(formset),
        ),
        done=_("Dates saved."),
        anchor="#dates",
    )


@login_required
@require_POST
def engagement_outcome(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _engagement_form(
        request,
        pk,
        forms={"outcome_form": OutcomeForm(request.POST)},
        apply=lambda item, form: engagement_outcome_record(
            actor=request.user, engagement=item, result=form.cleaned_data["result"], note=form.cleaned_data["note"]
        ),
        done=_("Outcome recorded."),
        anchor="#outcome",
    )


@login_required
@require_POST
def engagement_act(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    if action != "rate" and action not in {a.value for a in EngagementAction}:
        raise BadRequest(f"unknown action: {action[:40]}")
    item = get_object_or_404(engagement_list_for_user(user=request.user), pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        if action == "rate":
            rating = RatingForm(request.POST)
            if not rating.is_valid():
                raise ValidationError(_("Choose a rating from 1 to 5."))
            engagement_rate(
                actor=request.user,
                engagement=item,
                score=rating.cleaned_data["score"],
                comment=rating.cleaned_data["comment"],
            )
        else:
            engagement_transition(
                actor=request.user, engagement=item, action=action, reason=form.cleaned_data.get("reason", "")
            )
    except (*USER_ERRORS, PermissionDenied) as exc:
        show_error(request, exc)
    else:
        messages.success(request, _("Done."))
    return redirect("web:engagement", pk=pk)


@login_required
def runs(request: AuthenticatedHttpRequest) -> HttpResponse:
    active = active_full_run()
    return render(request, "web/runs.html", {"active": active, "runs": run_list()[:30]})


@moderator_required
@require_POST
def run_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    try:
        match_run_start(trigger=RunTrigger.ADMIN, requested_by=request.user)
        messages.success(request, _("Matching run queued."))
    except USER_ERRORS as exc:
        show_error(request, exc)
    return redirect("web:runs")


@moderator_required
@require_POST
def run_cancel(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(run_list(), pk=pk)
    try:
        match_run_cancel(run=run)
        messages.success(request, _("Run cancelled."))
    except USER_ERRORS as exc:
        show_error(request, exc)
    return redirect("web:runs")
