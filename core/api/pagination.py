from django.conf import settings
from django.core.paginator import Paginator
from rest_framework.pagination import PageNumberPagination


def _paginator_knowing(known_count: int) -> type[Paginator]:
    """A paginator told the count already (``Paginator.count`` is a cached property)."""

    class KnownCountPaginator(Paginator):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.__dict__["count"] = known_count

    return KnownCountPaginator


class StandardPagination(PageNumberPagination):
    """``?page=N&page_size=M``; the page size is capped so no request can ask for everything.

    A view that has counted the queryset already (the entry lists, for their ETag) sets
    ``request.known_count``: the page then costs no second ``COUNT``."""

    page_size = settings.API_PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = settings.API_MAX_PAGE_SIZE

    def paginate_queryset(self, queryset, request, view=None):
        known = getattr(request, "known_count", None)
        self.django_paginator_class = Paginator if known is None else _paginator_knowing(known)
        return super().paginate_queryset(queryset, request, view)
