from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_POST

from accounts.selectors import token_list_for_user, user_memberships
from accounts.services import token_revoke, user_set_notification_email
from matching.services.notifications import notifications_for_user, notifications_mark_read
from web.forms import NotificationEmailForm
from web.selectors import home_data
from web.views.common import AuthenticatedHttpRequest
from web.views.saved_searches import saved_searches_for_account


def home(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return render(request, "web/welcome.html")
    return render(request, "web/home.html", {"data": home_data(user=request.user)})


@login_required
def account(
    request: AuthenticatedHttpRequest, notification_form: NotificationEmailForm | None = None, status: int = 200
) -> HttpResponse:
    context = {
        "memberships": user_memberships(user=request.user),
        "tokens": token_list_for_user(user=request.user),
        "saved_searches": saved_searches_for_account(user=request.user),
        "notification_form": notification_form
        or NotificationEmailForm(initial={"notification_email": request.user.notification_email}),
    }
    return render(request, "web/account.html", context, status=status)


@login_required
@require_POST
def account_notification_email(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = NotificationEmailForm(request.POST)
    if form.is_valid():
        try:
            user_set_notification_email(user=request.user, value=form.cleaned_data["notification_email"])
        except ValidationError as exc:
            form.add_service_errors(exc)
        else:
            messages.success(request, _("Your choice of notification e-mails is saved."))
            return redirect("web:account")
    return account(request, notification_form=form, status=400)


@login_required
@require_POST
def account_token_revoke(request: AuthenticatedHttpRequest, key: str) -> HttpResponse:
    if token_revoke(user=request.user, token_key=key):
        messages.success(request, _("The token was revoked; programs using it can no longer sign in."))
    return redirect("web:account")


@login_required
def notifications(request: AuthenticatedHttpRequest) -> HttpResponse:
    if request.method == "POST":
        notifications_mark_read(user=request.user)
    items = list(notifications_for_user(user=request.user)[:100])
    return render(request, "web/notifications.html", {"items": items})


@cache_control(max_age=86400, public=True)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico on every page that names none (the admin, the API docs)."""
    return redirect(static("web/favicon.svg"))
