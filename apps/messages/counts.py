"""Counts of one account's messages (and where its deep pages start), cached until it gains or loses a message.

A page of a large account's messages is cheap (an index range), its `count` is not: counting 100,000 index
entries costs more than the rest of the request together. Counts are kept per account under a version
(apps.core.versioned_cache, owned by the database) that every insert or delete of one of the account's messages
replaces in its transaction, so a list read after a create always counts the new message. A status change does
not replace it (deliveries are frequent and change no count but a `status` filter's), so a count filtered by
`status` is never cached. The entry key is the read's path and its query string without the page parameters,
normalised: two reads share a count only when they ask the very same question.

The same version keeps where a deep page starts (the ordering key of its first row): a page of newest-first rows
is then found by seeking the index to that key, not by skipping the rows before it. Inserts and deletes move every
page's start, and they replace the version; nothing else changes the order (`created_at` and the id are fixed).
"""

import hashlib
from datetime import datetime
from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import QueryDict
from django.utils.http import urlencode

from apps.core.versioned_cache import VersionedCache

from .models import Message, messages_bulk_created

COUNT_CACHE_SECONDS = 10 * 60
PAGE_PARAMETERS = frozenset({"page", "page_size"})
account_counts = VersionedCache("messages:counts")


def count_question(path: str, query_params: QueryDict) -> str:
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
    to the request's batch (apps.core.cache_batch), and `cached_count` takes it from there."""
    digest = hashlib.blake2b(question.encode(), digest_size=16).hexdigest()
    return account_counts.entry_key(f"{account_id}:{digest}")


def cached_count(queryset: QuerySet[Any], *, account_id: UUID, question: str, request: Any = None) -> int:
    """`queryset.count()` for a queryset that reads only `account_id`'s messages and answers `question` (see
    `count_question`), from the cache when it can (an entry `request` fetched already is not asked for again)."""
    entry_key = count_entry_key(account_id, question)
    version, count = account_counts.lookup(entry_key, scope=str(account_id), request=request)
    if count is not None:
        return count
    count = queryset.count()
    account_counts.store(entry_key, version, count, timeout=COUNT_CACHE_SECONDS)
    return count


PageStart = tuple[datetime, int]  # (created_at, id) of a page's first row


def cached_page_start(*, account_id: UUID, question: str, offset: int) -> tuple[str, PageStart | None]:
    """The version to remember a page start under and the start of the page at `offset`, if known."""
    return account_counts.lookup(count_entry_key(account_id, f"{question}#offset={offset}"), scope=str(account_id))


def remember_page_start(*, account_id: UUID, question: str, offset: int, version: str, start: PageStart) -> None:
    entry_key = count_entry_key(account_id, f"{question}#offset={offset}")
    account_counts.store(entry_key, version, start, timeout=COUNT_CACHE_SECONDS)


def forget_account_counts(account_ids: set[UUID]) -> None:
    """Make the cached counts of these accounts stale, in the current transaction (seen once it commits)."""
    account_counts.invalidate_scopes(str(account_id) for account_id in account_ids)


@receiver(post_save, sender=Message, dispatch_uid="messages.forget_counts_on_create")
def _forget_counts_on_create(sender: type[Message], instance: Message, created: bool, **_: Any) -> None:
    if created:
        forget_account_counts({instance.account_id})


@receiver(post_delete, sender=Message, dispatch_uid="messages.forget_counts_on_delete")
def _forget_counts_on_delete(sender: type[Message], instance: Message, **_: Any) -> None:
    forget_account_counts({instance.account_id})


@receiver(messages_bulk_created, sender=Message, dispatch_uid="messages.forget_counts_on_bulk_create")
def _forget_counts_on_bulk_create(sender: type[Message], account_ids: set[UUID], **_: Any) -> None:
    forget_account_counts(account_ids)
