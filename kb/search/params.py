"""The search parameters: one parser for the search API, the Browse page and saved searches.

Invariants: the same bad input gets the same errors (``rest_framework.serializers.ValidationError``,
by field, in the caller's language) on every path; the text is at most ``MAX_TEXT`` characters;
filters name only the search's facets (``SEARCH_FACETS``), each at most ``MAX_FACET_VALUES``
codes of at most 64 storable characters, kept sorted and without repeats; pages stay inside the
``MAX_RESULT_WINDOW``. The parsed ``SearchParams`` is what services take (``entries_search``,
``saved_search_create``), never the raw input.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework import serializers

from core.api.serializers import RejectUnknownFieldsMixin
from kb.search.documents import FACET_FIELDS
from kb.search.query import MAX_RESULT_WINDOW, SortOrder

MAX_TEXT = 500
MAX_FACET_VALUES = 50
#: The facets a search filters on (the kind of entry is ``type``, not a facet filter).
SEARCH_FACETS = tuple(facet for facet in FACET_FIELDS if facet != "kind")
#: ``type`` (offers, needs) -> the kinds searched; absent: both.
TYPES: dict[str, tuple[str, ...]] = {"offers": ("offer",), "needs": ("need",)}
BOTH_KINDS = ("offer", "need")

#: What every query string accepts besides the facets (``format``: DRF's own ``?format=json``).
_PARAMS = ("q", "type", "sort", "page", "page_size", "format")


class SearchParamsSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    q = serializers.CharField(required=False, allow_blank=True, max_length=MAX_TEXT)
    type = serializers.ChoiceField(choices=list(TYPES), required=False)
    sort = serializers.ChoiceField(choices=SortOrder.CHOICES, default=SortOrder.RELEVANCE)
    page = serializers.IntegerField(min_value=1, max_value=1000, default=1)
    page_size = serializers.IntegerField(min_value=1, default=settings.API_PAGE_SIZE)
    format = serializers.CharField(required=False)  # DRF's own ?format=json

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for facet in SEARCH_FACETS:
            self.fields[facet] = serializers.ListField(
                child=serializers.CharField(max_length=64), max_length=MAX_FACET_VALUES, required=False
            )

    def validate_page_size(self, value: int) -> int:
        return min(value, settings.API_MAX_PAGE_SIZE)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        page, page_size = attrs["page"], attrs["page_size"]
        if page * page_size > MAX_RESULT_WINDOW:
            raise serializers.ValidationError(
                {
                    "page": [
                        _(
                            "Only the first %(window)d results can be paged through: with %(size)d results "
                            "per page, the last page is %(last)d."
                        )
                        % {"window": MAX_RESULT_WINDOW, "size": page_size, "last": MAX_RESULT_WINDOW // page_size}
                    ]
                }
            )
        return attrs


@dataclass(frozen=True)
class SearchParams:
    text: str
    kinds: tuple[str, ...]
    filters: dict[str, list[str]]
    sort: str = SortOrder.RELEVANCE
    page: int = 1
    page_size: int = settings.API_PAGE_SIZE

    @property
    def kind(self) -> str:
        """The one kind searched, or "" for both."""
        return self.kinds[0] if len(self.kinds) == 1 else ""


def search_params_parse(
    query: QueryDict | Mapping[str, Any], *, page_size: int | None = None, strict: bool = True
) -> SearchParams:
    """The search parameters of ``query`` (a query string's ``QueryDict``, or a mapping of
    parameter -> value or list of values), parsed and checked.

    ``page_size``: fixed by the caller (a web page) instead of read from the query. ``strict``:
    unknown parameters are an error (the API); a web page ignores them (links from elsewhere)."""
    data: dict[str, Any] = {}
    for key in query:
        if not strict and key not in _PARAMS and key not in FACET_FIELDS:
            continue
        if isinstance(query, QueryDict):
            values: Any = query.getlist(key)
        else:
            raw = query[key]
            values = list(raw) if isinstance(raw, list | tuple) else [raw]
        data[key] = values if key in FACET_FIELDS else (values[-1] if values else "")
    if page_size is not None:
        data["page_size"] = page_size
    params = SearchParamsSerializer(data=data)
    params.is_valid(raise_exception=True)
    valid = params.validated_data
    return SearchParams(
        text=valid.get("q", ""),
        kinds=TYPES.get(valid.get("type", ""), BOTH_KINDS),
        filters={facet: sorted(set(valid[facet])) for facet in SEARCH_FACETS if valid.get(facet)},
        sort=valid["sort"],
        page=valid["page"],
        page_size=valid["page_size"],
    )


def search_params_parse_nested(*, q: str = "", search_type: str | None = None, filters: object = None) -> SearchParams:
    """The same parser for input that nests the facets under ``filters`` (a saved search's API
    body; ``search_type`` is its ``type``): a facet filter's errors are reported on ``filters.<facet>``, an unknown facet (or
    anything but a mapping of facet -> values) on ``filters``."""
    filters = {} if filters is None else filters
    if not isinstance(filters, Mapping):
        raise serializers.ValidationError({"filters": [_("Give the filters as facet: list of values.")]})
    unknown = [str(facet) for facet in filters if facet not in SEARCH_FACETS]
    if unknown:
        raise serializers.ValidationError({"filters": [_("Unknown facet: %(facet)s.") % {"facet": unknown[0][:40]}]})
    query: dict[str, Any] = {"q": q or "", **filters}
    if search_type:
        query["type"] = search_type
    try:
        return search_params_parse(query)
    except serializers.ValidationError as exc:
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        nested = {key: value for key, value in detail.items() if key in SEARCH_FACETS}
        errors: dict[str, Any] = {key: value for key, value in detail.items() if key not in SEARCH_FACETS}
        if nested:
            errors["filters"] = nested
        raise serializers.ValidationError(errors) from exc
