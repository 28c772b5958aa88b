"""Invitations, access requests and account (de)activation."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import AccessRequest, AccessRequestStatus, Invitation, User
from accounts.selectors import invitation_list_open
from accounts.services import (
    access_request_create,
    access_request_decide,
    invitation_accept,
    invitation_create,
    invitation_for_token,
    invitation_resend,
    invitation_revoke,
    user_set_active,
)
from web.forms import AcceptInvitationForm, AccessRequestForm, InviteForm, ReasonForm
from web.views.common import moderator_required


@moderator_required
def invite(request):
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation_create(
                actor=request.user,
                email=data["email"],
                organisation=data["organisation"],
                provider=data["provider"],
                recipient=data["recipient"],
                full_name=data["full_name"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Invitation sent to %(email)s.") % {"email": data["email"]})
            return redirect("web:people")
    return render(request, "web/accounts/invite.html", {"form": form})


def accept_invitation(request, token: str):
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(request, "web/accounts/invitation_invalid.html", status=410)
    form = AcceptInvitationForm(request.POST or None, initial={"full_name": invitation.full_name})
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token, password=form.cleaned_data["password"], full_name=form.cleaned_data["full_name"]
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome! Your account is ready."))
            return redirect("web:home")
    return render(request, "web/accounts/accept_invitation.html", {"form": form, "invitation": invitation})


def request_access(request):
    form = AccessRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            access_request_create(
                email=data["email"],
                full_name=data["full_name"],
                organisation=data["organisation"],
                organisation_name=data["organisation_name"],
                country=data["country"],
                provider=data["wants_provider"],
                recipient=data["wants_recipient"],
                message=data["message"],
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            return render(request, "web/accounts/request_sent.html")
    return render(request, "web/accounts/request_access.html", {"form": form})


@moderator_required
def people(request):
    users = User.objects.prefetch_related("memberships__organisation__country").order_by("email")
    requests = AccessRequest.objects.filter(status=AccessRequestStatus.PENDING).select_related(
        "organisation", "country"
    )
    context = {
        "users": users,
        "requests": requests,
        "invitations": invitation_list_open(),
        "reason_form": ReasonForm(),
    }
    return render(request, "web/accounts/people.html", context)


@moderator_required
@require_POST
def invitation_act(request, pk: int, action: str):
    invitation = get_object_or_404(Invitation, pk=pk)
    try:
        if action == "resend":
            invitation_resend(actor=request.user, invitation=invitation)
            messages.success(request, _("Invitation sent again to %(email)s.") % {"email": invitation.email})
        elif action == "revoke":
            invitation_revoke(actor=request.user, invitation=invitation)
            messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("web:people")


@moderator_required
@require_POST
def decide_request(request, pk: int, decision: str):
    access_request = get_object_or_404(AccessRequest, pk=pk)
    form = ReasonForm(request.POST)
    form.is_valid()
    try:
        access_request_decide(
            actor=request.user,
            request=access_request,
            approve=decision == "approve",
            reason=form.cleaned_data.get("reason", ""),
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Request decided."))
    return redirect("web:people")


@moderator_required
def set_active(request, pk: int, active: str):
    """Reactivate at once; deactivating asks first (GET shows what it means, POST does it)."""
    user = get_object_or_404(User, pk=pk)
    if active not in ("activate", "deactivate"):
        raise Http404
    if request.method != "POST":
        if active != "deactivate":
            return redirect("web:people")
        return render(request, "web/accounts/confirm_deactivate.html", {"person": user})
    try:
        user_set_active(actor=request.user, user=user, active=active == "activate")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if active == "activate":
            messages.success(request, _("%(email)s can sign in again.") % {"email": user.email})
        else:
            messages.success(request, _("%(email)s can no longer sign in.") % {"email": user.email})
    return redirect("web:people")
