"""The project's page-number pagination for messages: pages fetched by a deferred join, as plain rows, with the
account's count from the cache.

Counts of one account's messages, cached until it gains a message.

A page of a large account's messages is cheap (an index range), its `count` is not: counting 100,000 index
entries costs more than the rest of the request together. Counts are kept per account under a version
(apps.core.cache.versioned, owned by the database) that every service inserting messages replaces in its
transaction (`forget_account_counts`, as products' services invalidate the catalog: messages are never deleted
through the service), so a list read after a create always counts the new message. A status change does
not replace it (deliveries are frequent and change no count but a `status` filter's), so a count filtered by
`status` is never cached. The entry key is the read's path and its query string without the page parameters,
normalised: two reads share a count only when they ask the very same question.
"""

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from django.core.exceptions import ImproperlyConfigured
from django.core.paginator import InvalidPage, Page, Paginator
from django.db.models import QuerySet
from django.http import QueryDict
from django.utils.http import urlencode
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.cache.versioned import VersionedCache
from apps.core.http.pagination import PageNumberPagination

from .serializers import MESSAGE_COLUMNS

COUNT_CACHE_SECONDS = 10 * 60
PAGE_PARAMETERS = frozenset({"page", "page_size"})
account_counts = VersionedCache("messages:counts")


def normalized_list_query(path: str, query_params: QueryDict) -> str:
    """What a list read counts: its path and its non-empty parameters but the page ones, in a fixed order."""
    params = sorted(
        (name, value)
        for name, values in query_params.lists()
        if name not in PAGE_PARAMETERS
        for value in values
        if value
    )
    return f"{path}?{urlencode(params)}"


def count_entry_key(account_id: UUID, question: str) -> str:
    """The cache key of `account_id`'s count for `question`: a view that knows both before authenticating adds it
    to the request's batch (apps.core.cache.batch), and `cached_count` takes it from there."""
    digest = hashlib.blake2b(question.encode(), digest_size=16).hexdigest()
    return account_counts.entry_key(f"{account_id}:{digest}")


def cached_count(queryset: QuerySet[Any], *, account_id: UUID, question: str, request: Any = None) -> int:
    """`queryset.count()` for a queryset that reads only `account_id`'s messages and answers `question` (see
    `normalized_list_query`), from the cache when it can (an entry `request` fetched already is not asked for again)."""
    entry_key = count_entry_key(account_id, question)
    version, count = account_counts.lookup(entry_key, scope=str(account_id), request=request)
    if count is not None:
        return count
    count = queryset.count()
    account_counts.store(entry_key, version, count, timeout=COUNT_CACHE_SECONDS)
    return count


def forget_account_counts(account_ids: set[UUID]) -> None:
    """Make the cached counts of these accounts stale, in the current transaction (seen once it commits)."""
    account_counts.invalidate_scopes(str(account_id) for account_id in account_ids)


DEFERRED_JOIN_FROM_OFFSET = 1000


@dataclass(frozen=True)
class CountScope:
    """The one account every row of a read belongs to, and the read's question (`normalized_list_query`): the key
    under which its count and the starts of its deep pages are cached."""

    account_id: UUID
    question: str


class DeferredJoinPaginator(Paginator):
    """Past the first pages, picks the page's primary keys first (a scan of the ordering index only, cheap even at a
    deep offset), then loads just those rows: page 1000 costs about what page 1 does instead of reading 20,000 rows
    to skip them. Rows are `MESSAGE_COLUMNS` dicts. With a `count_scope` the count is cached."""

    def __init__(
        self, object_list: Any, per_page: int, *, count_scope: CountScope | None = None, request: Any = None
    ) -> None:
        super().__init__(object_list, per_page)
        self.count_scope = count_scope
        self.request = request  # whose batch may hold the cached count (apps.core.cache.batch)

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
        return self._deferred_join(queryset, bottom, top)

    def _deferred_join(self, queryset: QuerySet[Any], bottom: int, top: int) -> QuerySet[Any]:
        ordering = queryset.query.order_by or queryset.model._meta.ordering
        page_keys = queryset.values("pk")[bottom:top]
        rows = queryset.model._default_manager.filter(pk__in=page_keys).order_by(*ordering)
        return rows.values(*MESSAGE_COLUMNS)


@runtime_checkable
class CountedPagesView(Protocol):
    def count_account(self) -> UUID | None:
        """The one account every row of this read belongs to, whose cached count it may use; None counts afresh."""


class MessagePagination(PageNumberPagination):
    """Pages of message rows, counted from the cache when the view names the one account they all belong to
    (`count_account`), afresh otherwise."""

    def paginate_queryset(
        self, queryset: QuerySet[Any, Any] | Sequence[Any], request: Request, view: APIView | None = None
    ) -> list[Any]:
        """One page of `queryset` as `MESSAGE_COLUMNS` rows (a 404 past the last page)."""
        self.request = request
        scope = None
        count_account = view.count_account() if isinstance(view, CountedPagesView) else None
        if count_account is not None:
            query = normalized_list_query(request.path, request.query_params)
            scope = CountScope(account_id=count_account, question=query)
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
