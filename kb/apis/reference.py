"""Read-only reference data: States, regions, languages, the UNCAC structure, the TA taxonomy,
and organisations (which moderators may also create and edit)."""

from __future__ import annotations

import django_filters
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.permissions import SAFE_METHODS, IsAuthenticated

from core.api.permissions import IsModerator
from kb.apis.filters import IdFilter
from kb.apis.serializers import (
    CountrySerializer,
    LanguageSerializer,
    ModalitySerializer,
    OrganisationSerializer,
    RegionSerializer,
    TATypeSerializer,
    ThematicAreaSerializer,
    UncacArticleSerializer,
    UncacChapterSerializer,
)
from kb.models import (
    Country,
    Language,
    Modality,
    Organisation,
    Region,
    TAType,
    ThematicArea,
    UncacArticle,
    UncacChapter,
)
from kb.selectors import country_list, organisation_list


class CountryFilterSet(django_filters.FilterSet):
    region = django_filters.CharFilter(field_name="region__name")
    subregion = django_filters.CharFilter(field_name="subregion__name")

    class Meta:
        model = Country
        fields = ["regional_group", "g77", "m49_developing", "ldc", "sids", "un_member"]


@extend_schema_view(list=extend_schema(summary="States, with M49 region, UN regional group and South-South flags."))
class CountryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = CountrySerializer
    lookup_field = "iso3"
    filterset_class = CountryFilterSet

    def get_queryset(self):
        return country_list()


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = RegionSerializer
    lookup_field = "m49_code"
    queryset = Region.objects.select_related("parent")


class LanguageViewSet(viewsets.ReadOnlyModelViewSet):
    """ISO 639-1 languages, the six UN languages first."""

    serializer_class = LanguageSerializer
    queryset = Language.objects.all()


class UncacChapterViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = UncacChapterSerializer
    queryset = UncacChapter.objects.all()


class UncacArticleFilterSet(django_filters.FilterSet):
    chapter = IdFilter(field_name="chapter_id")

    class Meta:
        model = UncacArticle
        fields: list[str] = []


class UncacArticleViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = UncacArticleSerializer
    queryset = UncacArticle.objects.all()
    filterset_class = UncacArticleFilterSet


class TATypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TATypeSerializer
    lookup_field = "code"
    queryset = TAType.objects.filter(is_active=True)


class ThematicAreaViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ThematicAreaSerializer
    lookup_field = "code"
    queryset = ThematicArea.objects.filter(is_active=True).prefetch_related("articles")


class ModalityViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ModalitySerializer
    lookup_field = "code"
    queryset = Modality.objects.filter(is_active=True)


class OrganisationFilterSet(django_filters.FilterSet):
    country = django_filters.CharFilter(field_name="country__iso3")
    international = django_filters.BooleanFilter(field_name="country", lookup_expr="isnull")
    q = django_filters.CharFilter(field_name="name", lookup_expr="icontains")

    class Meta:
        model = Organisation
        fields = ["kind"]


class OrganisationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Everyone signed in reads organisations; moderators create and edit them."""

    serializer_class = OrganisationSerializer
    filterset_class = OrganisationFilterSet

    def get_queryset(self):
        return organisation_list()

    def get_permissions(self):
        if self.request.method in SAFE_METHODS:
            return [IsAuthenticated()]
        return [IsAuthenticated(), IsModerator()]

    def perform_create(self, serializer):
        from kb.services.organisations import organisation_create

        serializer.instance = organisation_create(**serializer.validated_data)

    def perform_update(self, serializer):
        from kb.services.organisations import organisation_update

        serializer.instance = organisation_update(organisation=serializer.instance, **serializer.validated_data)
