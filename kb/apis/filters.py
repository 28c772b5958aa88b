"""Filters of the entry list endpoints: the same facets as the admin and the search API."""

from __future__ import annotations

import django_filters
from django import forms
from django.db.models import Q

from kb.models import (
    AssistanceNeed,
    EntryStatus,
    ExpertiseOffer,
    RegionalGroup,
    RevisionStatus,
)
from kb.selectors import user_scope

#: The largest id a database key holds (signed 64 bits): larger numbers are a 400, not a crash.
MAX_ID = 2**63 - 1


class IdFilter(django_filters.NumberFilter):
    """An integer filter within the database's range (``NumberFilter`` parses decimals, and a
    number beyond 64 bits reached the database and failed there)."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 0)
        kwargs.setdefault("max_value", MAX_ID)
        super().__init__(*args, **kwargs)


class _EntryFilterSet(django_filters.FilterSet):
    country_field = ""  # path to the entry's State

    status = django_filters.MultipleChoiceFilter(choices=EntryStatus.choices)
    country = django_filters.CharFilter(method="filter_country", help_text="ISO 3166-1 alpha-3")
    region = django_filters.CharFilter(method="filter_region", help_text="M49 region name, e.g. Africa")
    subregion = django_filters.CharFilter(method="filter_subregion", help_text="M49 sub-region name")
    regional_group = django_filters.ChoiceFilter(method="filter_regional_group", choices=RegionalGroup.choices)
    chapter = IdFilter(field_name="articles__chapter", distinct=True)
    article = IdFilter(field_name="articles__number", distinct=True)
    ta_type = django_filters.CharFilter(field_name="ta_types__code", distinct=True)
    thematic_area = django_filters.CharFilter(field_name="thematic_areas__code", distinct=True)
    language = django_filters.CharFilter(field_name="language_id")
    external_id = django_filters.CharFilter()
    awaiting_moderation = django_filters.BooleanFilter(
        method="filter_awaiting_moderation", help_text="Submitted entries or submitted changes."
    )
    mine = django_filters.BooleanFilter(method="filter_mine", help_text="Only my organisations' entries.")
    q = django_filters.CharFilter(method="filter_text", help_text="Words in the title (use /search/ for full text).")

    def filter_country(self, queryset, name, value):
        return queryset.filter(**{f"{self.country_field}__iso3": value.upper()})

    def filter_region(self, queryset, name, value):
        return queryset.filter(**{f"{self.country_field}__region__name": value})

    def filter_subregion(self, queryset, name, value):
        return queryset.filter(**{f"{self.country_field}__subregion__name": value})

    def filter_regional_group(self, queryset, name, value):
        return queryset.filter(**{f"{self.country_field}__regional_group": value})

    def filter_awaiting_moderation(self, queryset, name, value):
        awaiting = Q(status=EntryStatus.SUBMITTED) | Q(revision_status=RevisionStatus.SUBMITTED)
        return queryset.filter(awaiting) if value else queryset.exclude(awaiting)

    def filter_mine(self, queryset, name, value):
        mine = user_scope(self.request.user).owns(self._meta.model)
        return queryset.filter(mine) if value else queryset.exclude(mine)

    def filter_text(self, queryset, name, value):
        for word in value.split()[:10]:
            queryset = queryset.filter(title__icontains=word)
        return queryset


class OfferFilterSet(_EntryFilterSet):
    country_field = "organisation__country"
    organisation = IdFilter(field_name="organisation_id")
    modality = django_filters.CharFilter(field_name="modalities__code", distinct=True)

    class Meta:
        model = ExpertiseOffer
        fields: list[str] = []


class NeedFilterSet(_EntryFilterSet):
    country_field = "country"
    organisation = IdFilter(field_name="organisation_id")
    priority = django_filters.CharFilter()
    south_south = django_filters.CharFilter()

    class Meta:
        model = AssistanceNeed
        fields: list[str] = []
