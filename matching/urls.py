"""URLs of the matching API, mounted under /api/v1/ (namespace ``matching-api``)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from matching.apis.views import (
    EngagementViewSet,
    MatchRunViewSet,
    NeedCandidatesView,
    NeedOfferHelpView,
    NotificationViewSet,
)

app_name = "matching-api"

router = DefaultRouter()
router.register("matching/runs", MatchRunViewSet, basename="run")
router.register("engagements", EngagementViewSet, basename="engagement")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("", include(router.urls)),
    path("needs/<int:pk>/candidates/", NeedCandidatesView.as_view(), name="need-candidates"),
    path("needs/<int:pk>/offer-help/", NeedOfferHelpView.as_view(), name="need-offer-help"),
]
