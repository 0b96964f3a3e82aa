"""The project's page-number pagination for messages: pages fetched by a deferred join, as plain rows, with the
account's count from the cache."""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import Q, QuerySet
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.pagination import PageNumberPagination

from .counts import cached_count, cached_page_start, count_question, remember_page_start
from .selectors import NEWEST_FIRST
from .serializers import MESSAGE_COLUMNS

DEFERRED_JOIN_FROM_OFFSET = 1000


@dataclass(frozen=True)
class CountScope:
    """The one account every row of a read belongs to, and the read's question (`counts.count_question`): the key
    under which its count and the starts of its deep pages are cached."""

    account_id: UUID
    question: str


class DeferredJoinPaginator(Paginator):
    """Past the first pages, picks the page's primary keys first (a scan of the ordering index only, cheap even at a
    deep offset), then loads just those rows: page 1000 costs about what page 1 does instead of reading 20,000 rows
    to skip them. Rows are `MESSAGE_COLUMNS` dicts. With a `count_scope` the count is cached, and so is where each
    deep page starts: a page read again seeks straight to it."""

    def __init__(
        self, object_list: Any, per_page: int, *, count_scope: CountScope | None = None, request: Any = None
    ) -> None:
        super().__init__(object_list, per_page)
        self.count_scope = count_scope
        self.request = request  # whose batch may hold the cached count (apps.core.cache_batch)

    @cached_property
    def count(self) -> int:
        if self.count_scope is None or not isinstance(self.object_list, QuerySet):
            return super().count
        scope = self.count_scope
        return cached_count(
            self.object_list, account_id=scope.account_id, question=scope.question, request=self.request
        )

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        return Page(self._rows(bottom, top), number, self)

    def _rows(self, bottom: int, top: int) -> Any:
        queryset = self.object_list
        if not isinstance(queryset, QuerySet):
            return queryset[bottom:top]
        if bottom < DEFERRED_JOIN_FROM_OFFSET:
            # Near the start the plain query is cheaper: one level to plan and compile, and little to skip.
            return queryset.values(*MESSAGE_COLUMNS)[bottom:top]
        scope = self.count_scope
        if scope is None or tuple(queryset.query.order_by) != NEWEST_FIRST:
            return self._deferred_join(queryset, bottom, top)
        version, start = cached_page_start(account_id=scope.account_id, question=scope.question, offset=bottom)
        if start is not None:
            created_at, pk = start
            # `created_at <= start` on its own lets the index seek; the OR breaks ties by id.
            at_or_after = Q(created_at__lte=created_at) & (Q(created_at__lt=created_at) | Q(pk__lte=pk))
            return queryset.filter(at_or_after).values(*MESSAGE_COLUMNS)[: top - bottom]
        rows = list(self._deferred_join(queryset, bottom, top, "pk"))
        if rows:
            start = (rows[0]["created_at"], rows[0]["pk"])
            remember_page_start(
                account_id=scope.account_id, question=scope.question, offset=bottom, version=version, start=start
            )
        return rows

    def _deferred_join(self, queryset: QuerySet[Any], bottom: int, top: int, *extra: str) -> QuerySet[Any]:
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        page_keys = queryset.values("pk")[bottom:top]
        rows = queryset.model._default_manager.filter(pk__in=page_keys).order_by(*ordering)
        return rows.values(*extra, *MESSAGE_COLUMNS)


class MessagePagination(PageNumberPagination):
    """Pages of message rows, counted afresh unless the view names the account they all belong to."""

    def paginate_queryset(
        self,
        queryset: QuerySet[Any, Any] | Sequence[Any],
        request: Request,
        view: APIView | None = None,
        *,
        count_account: UUID | None = None,
    ) -> list[Any]:
        """One page of `queryset` as `MESSAGE_COLUMNS` rows (a 404 past the last page).

        `count_account` is the one account every row belongs to, whose cached count and page starts this read may
        use; None (DRF's own call, an admin's read across accounts, a `status` filter) counts afresh.
        """
        self.request = request
        scope = None
        if count_account is not None:
            scope = CountScope(account_id=count_account, question=count_question(request.path, request.query_params))
        page_size = self.get_page_size(request)
        if page_size is None:
            raise ImproperlyConfigured("Message pages need REST_FRAMEWORK['PAGE_SIZE'].")
        paginator = DeferredJoinPaginator(queryset, page_size, count_scope=scope, request=request)
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(self.invalid_page_message.format(page_number=page_number, message=str(exc))) from exc
        if paginator.num_pages > 1 and self.template is not None:
            self.display_page_controls = True
        return list(self.page)
