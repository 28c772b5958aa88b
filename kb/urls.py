"""URLs of the knowledge-base API, mounted under /api/v1/ (namespace ``kb-api``)."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from kb.apis.entries import NeedViewSet, OfferViewSet
from kb.apis.imports import ExportView, ImportView
from kb.apis.reference import (
    CountryViewSet,
    LanguageViewSet,
    ModalityViewSet,
    OrganisationViewSet,
    RegionViewSet,
    TATypeViewSet,
    ThematicAreaViewSet,
    UncacArticleViewSet,
    UncacChapterViewSet,
)
from kb.apis.saved_searches import SavedSearchViewSet
from kb.apis.search import HealthView, SearchView

app_name = "kb-api"

router = DefaultRouter()
router.register("offers", OfferViewSet, basename="offer")
router.register("needs", NeedViewSet, basename="need")
router.register("saved-searches", SavedSearchViewSet, basename="saved-search")
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("countries", CountryViewSet, basename="country")
router.register("regions", RegionViewSet, basename="region")
router.register("languages", LanguageViewSet, basename="language")
router.register("taxonomy/chapters", UncacChapterViewSet, basename="chapter")
router.register("taxonomy/articles", UncacArticleViewSet, basename="article")
router.register("taxonomy/ta-types", TATypeViewSet, basename="ta-type")
router.register("taxonomy/thematic-areas", ThematicAreaViewSet, basename="thematic-area")
router.register("taxonomy/modalities", ModalityViewSet, basename="modality")

urlpatterns = [
    path("", include(router.urls)),
    path("search/", SearchView.as_view(), name="search"),
    path("health/", HealthView.as_view(), name="health"),
    path("imports/", ImportView.as_view(), name="import"),
    path("exports/entries.jsonl", ExportView.as_view(), name="export"),
]
