"""The project's page-number pagination, with pages fetched by a deferred join so deep pages stay cheap."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import QuerySet

from apps.core.pagination import PageNumberPagination


class DeferredJoinPaginator(Paginator):
    """Picks the page's primary keys first (a scan of the ordering index only, cheap even at a deep offset), then
    loads just those rows: page 1000 costs about what page 1 does instead of reading 20,000 rows to skip them."""

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return self._get_page(self._rows(bottom, top), number, self)

    def _rows(self, bottom: int, top: int) -> Any:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return queryset[bottom:top]
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        page_keys = queryset.values("pk")[bottom:top]
        return queryset.model._default_manager.filter(pk__in=page_keys).order_by(*ordering)


class MessagePagination(PageNumberPagination):
    django_paginator_class = DeferredJoinPaginator
