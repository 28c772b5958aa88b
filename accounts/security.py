"""Sign-in defences shared by every login path (web sign-in, the admin, the API token endpoint).

- Brute force: django-axes counts failed sign-ins per (address, client IP); after
  ``AXES_FAILURE_LIMIT`` failures that pair is locked out for ``AXES_COOLOFF_TIME``. The address
  is compared case-insensitively (``axes_username``), so "Alice@x" and "alice@x" count together.
- ``client_ip`` is the one definition of the caller's IP (axes and the form throttles use it):
  ``REMOTE_ADDR``, or, behind ``TRUSTED_PROXY_COUNT`` reverse proxies, the address the nearest
  trusted proxy saw (never a value the client chose).
- ``lockout_response``: what a locked-out caller gets — the API's error shape (429) on API paths,
  a page in the reader's language elsewhere.
- ``RevokeTokensOnPasswordChange``: a password change (reset, change, invitation, admin) revokes
  every API token of the account.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render


def client_ip(request) -> str:
    request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(forwarded) >= proxies:
            return forwarded[-proxies]
    return request.META.get("REMOTE_ADDR", "")


def axes_username(request, credentials: dict | None) -> str:
    """The address a sign-in attempt names, from the credentials given to ``authenticate``
    (never only from the form: an API request carries it in a JSON body)."""
    credentials = credentials or {}
    value = credentials.get("username") or credentials.get("email")
    if value is None:
        value = getattr(request, "POST", {}).get("username", "")
    return str(value).strip().lower()


def lockout_minutes() -> int:
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def lockout_response(request, original_response=None, credentials=None):
    from config.middleware import API_PREFIX, api_error

    minutes = lockout_minutes()
    response: HttpResponse
    if request.path.startswith(API_PREFIX):
        response = api_error(
            429,
            "locked_out",
            f"Too many failed sign-ins for this account from your address; try again in {minutes} minutes.",
        )
    else:
        response = render(request, "web/accounts/locked_out.html", {"minutes": minutes}, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


class RevokeTokensOnPasswordChange:
    """A password "validator" that validates nothing: Django calls ``password_changed`` after
    every saved password change, which is the one place all password changes pass through."""

    def validate(self, password, user=None) -> None:
        return None

    def password_changed(self, password, user=None) -> None:
        if user is not None and user.pk:
            from accounts.services import tokens_revoke_all

            tokens_revoke_all(user=user)

    def get_help_text(self) -> str:
        return ""
