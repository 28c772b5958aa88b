"""Root URLs: the admin, the REST API (/api/v1/), its schema and docs, and the health checks."""

from django.contrib import admin
from django.http import JsonResponse
from django.urls import include, path
from django.views import defaults
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from accounts.apis import MeView, TokenView
from config import health
from web.views.accounts import accept_invitation, password_reset
from web.views.home import favicon

api_v1 = [
    path("", include("kb.urls")),
    path("", include("matching.urls")),
    path("me/", MeView.as_view(), name="me"),
    path("auth/token/", TokenView.as_view(), name="auth-token"),
]

urlpatterns = [
    path("", include("web.urls")),
    path("favicon.ico", favicon, name="favicon"),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    # Before Django's own: the same view, throttled per address and per IP (web.views.accounts).
    path("accounts/password_reset/", password_reset, name="password_reset"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("accounts/invitations/<str:token>/", accept_invitation, name="invitation-accept"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script on the page.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]


def not_found(request, exception):
    """Under /api/ an unknown address answers in the API's error shape, elsewhere the web page."""
    if request.path.startswith("/api/"):
        body = {"type": "client_error", "errors": [{"code": "not_found", "detail": "Not found.", "attr": None}]}
        return JsonResponse(body, status=404)
    return defaults.page_not_found(request, exception)


handler404 = not_found
