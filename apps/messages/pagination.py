"""The project's page-number pagination for messages: pages fetched by a deferred join, as plain rows, with the
account's count from the cache."""

from functools import cached_property
from typing import Any
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.db.models import Q, QuerySet
from rest_framework.request import Request

from apps.core.pagination import PageNumberPagination

from .counts import cached_count, cached_page_start, count_question, remember_page_start
from .selectors import NEWEST_FIRST
from .serializers import MESSAGE_COLUMNS

DEFERRED_JOIN_FROM_OFFSET = 1000


class DeferredJoinPaginator(Paginator):
    """Past the first pages, picks the page's primary keys first (a scan of the ordering index only, cheap even at a
    deep offset), then loads just those rows: page 1000 costs about what page 1 does instead of reading 20,000 rows
    to skip them. Rows are `MESSAGE_COLUMNS` dicts. With `count_account` (the one account the rows belong to) the
    count is cached, and so is where each deep page starts: a page read again seeks straight to it."""

    def __init__(
        self, object_list: Any, per_page: int, *, count_account: UUID | None = None, count_question: str = ""
    ) -> None:
        super().__init__(object_list, per_page)
        self.count_account = count_account
        self.count_question = count_question

    @cached_property
    def count(self) -> int:
        if self.count_account is None or not isinstance(self.object_list, QuerySet):
            return super().count
        return cached_count(self.object_list, account_id=self.count_account, question=self.count_question)

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
        if bottom < DEFERRED_JOIN_FROM_OFFSET:
            # Near the start the plain query is cheaper: one level to plan and compile, and little to skip.
            return queryset.values(*MESSAGE_COLUMNS)[bottom:top]
        if self.count_account is None or tuple(queryset.query.order_by) != NEWEST_FIRST:
            return self._deferred_join(queryset, bottom, top)
        where = {"account_id": self.count_account, "question": self.count_question, "offset": bottom}
        version, start = cached_page_start(**where)
        if start is not None:
            created_at, pk = start
            # `created_at <= start` on its own lets the index seek; the OR breaks ties by id.
            at_or_after = Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(pk__lte=pk))
            return queryset.filter(at_or_after).values(*MESSAGE_COLUMNS)[: top - bottom]
        rows = list(self._deferred_join(queryset, bottom, top, "pk"))
        if rows and version is not None:
            remember_page_start(**where, version=version, start=(rows[0]["created_at"], rows[0]["pk"]))
        return rows

    def _deferred_join(self, queryset: QuerySet[Any], bottom: int, top: int, *extra: str) -> QuerySet[Any]:
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        page_keys = queryset.values("pk")[bottom:top]
        rows = queryset.model._default_manager.filter(pk__in=page_keys).order_by(*ordering)
        return rows.values(*extra, *MESSAGE_COLUMNS)


class MessagePagination(PageNumberPagination):
    """Pages of message rows. The view's `count_account()` names the account whose cached count applies (None:
    count afresh, e.g. an admin's read across accounts, or a filter on `status`)."""

    count_account: UUID | None = None
    count_question = ""

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        count_account = getattr(view, "count_account", None)
        self.count_account = count_account() if count_account is not None else None
        self.count_question = count_question(request.path, request.query_params)
        return super().paginate_queryset(queryset, request, view)

    def django_paginator_class(self, object_list: Any, per_page: int) -> DeferredJoinPaginator:
        # DRF builds its paginator with `self.django_paginator_class(queryset, page_size)`.
        return DeferredJoinPaginator(
            object_list, per_page, count_account=self.count_account, count_question=self.count_question
        )
