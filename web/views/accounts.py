"""Invitations, access requests, account (de)activation, password reset, API tokens.

The anonymous forms that send e-mail or write rows (password reset, access requests) accept a
few requests per hour for each e-mail address and from each client IP (django-ratelimit,
``FORM_RATE_PER_ADDRESS`` / ``FORM_RATE_PER_IP``); beyond that they answer 429.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from accounts.models import AccessRequest, AccessRequestStatus, Invitation, User
from accounts.security import client_ip
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
from core.web import show_error
from web.forms import AcceptInvitationForm, AccessRequestForm, InviteForm, ReasonForm
from web.views.common import AuthenticatedHttpRequest, moderator_required

_View = TypeVar("_View", bound=Callable[..., HttpResponseBase])


def _address_key(group: str, request: HttpRequest) -> str:
    return request.POST.get("email", "").strip().lower()


def _ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request)


def form_throttled(name: str) -> Callable[[_View], _View]:
    """Throttle POSTs of an anonymous form per e-mail address and per client IP."""

    def decorate(view: _View) -> _View:
        view = ratelimit(
            group=f"{name}:address",
            key=_address_key,
            rate=lambda group, request: settings.FORM_RATE_PER_ADDRESS,
            method="POST",
        )(view)
        return ratelimit(
            group=f"{name}:ip", key=_ip_key, rate=lambda group, request: settings.FORM_RATE_PER_IP, method="POST"
        )(view)

    return decorate


def rate_limited(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """What a throttled form answers (``RATELIMIT_VIEW``)."""
    response = render(request, "web/accounts/rate_limited.html", status=429)
    response["Retry-After"] = "3600"
    return response


password_reset = form_throttled("password-reset")(auth_views.PasswordResetView.as_view())


@moderator_required
def invite(request: AuthenticatedHttpRequest) -> HttpResponse:
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


def accept_invitation(request: HttpRequest, token: str) -> HttpResponse:
    invitation = invitation_for_token(token)
    if invitation is None:
        return render(request, "web/accounts/invitation_invalid.html", status=410)
    if User.objects.filter(email__iexact=invitation.email).exists():
        return _accept_invitation_existing(request, token, invitation)
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


def _accept_invitation_existing(request: HttpRequest, token: str, invitation: Invitation) -> HttpResponse:
    """The address already has an account: the link adds the roles once that account is signed
    in, and asks for no password (it never sets one)."""
    invitee = request.user if isinstance(request.user, User) else None  # None: not signed in
    signed_in_as_invitee = invitee is not None and invitee.email.lower() == invitation.email.lower()
    if request.method == "POST" and invitee is not None and signed_in_as_invitee:
        try:
            invitation_accept(token=token, actor=invitee)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Your new roles are ready."))
            return redirect("web:home")
    context = {"invitation": invitation, "signed_in_as_invitee": signed_in_as_invitee, "next": request.path}
    return render(request, "web/accounts/accept_invitation_existing.html", context)


@form_throttled("access-request")
def request_access(request: HttpRequest) -> HttpResponse:
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
def people(request: AuthenticatedHttpRequest) -> HttpResponse:
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
def invitation_act(request: AuthenticatedHttpRequest, pk: int, action: str) -> HttpResponse:
    if action not in ("resend", "revoke"):
        raise BadRequest(f"unknown action: {action[:40]}")
    invitation = get_object_or_404(Invitation, pk=pk)
    try:
        if action == "resend":
            invitation_resend(actor=request.user, invitation=invitation)
            messages.success(request, _("Invitation sent again to %(email)s.") % {"email": invitation.email})
        elif action == "revoke":
            invitation_revoke(actor=request.user, invitation=invitation)
            messages.success(request, _("Invitation to %(email)s revoked.") % {"email": invitation.email})
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("web:people")


@moderator_required
@require_POST
def decide_request(request: AuthenticatedHttpRequest, pk: int, decision: str) -> HttpResponse:
    if decision not in ("approve", "refuse"):
        raise BadRequest(f"unknown decision: {decision[:40]}")
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
def set_active(request: AuthenticatedHttpRequest, pk: int, active: str) -> HttpResponse:
    """Reactivate at once; deactivating asks first (GET shows what it means, POST does it)."""
    user = get_object_or_404(User, pk=pk)  # ``active`` is one of the two verbs (web.urls)
    if request.method != "POST":
        if active != "deactivate":
            return redirect("web:people")
        return render(request, "web/accounts/confirm_deactivate.html", {"person": user})
    try:
        user_set_active(actor=request.user, user=user, active=active == "activate")
    except (ValidationError, PermissionDenied) as exc:
        show_error(
            request, exc
        )  # PermissionDenied has no ``messages``: a moderator changing a superuser used to get a 500
    else:
        if active == "activate":
            messages.success(request, _("%(email)s can sign in again.") % {"email": user.email})
        else:
            messages.success(request, _("%(email)s can no longer sign in.") % {"email": user.email})
    return redirect("web:people")
