"""What the web views share: the signed-in request's type and the moderators' gate."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from accounts.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """The request of a view behind ``login_required`` or ``moderator_required``: its user is
    signed in, so a ``User`` (django-stubs' documented way to say so; nothing at run time)."""

    user: User


_View = TypeVar("_View", bound=Callable[..., HttpResponse])


def moderator_required(view: _View) -> _View:
    @login_required
    @wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_moderator:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return cast(_View, wrapped)
