"""Cache entries that a write makes stale at once, in every process: the version-token pattern.

Every entry is stored with the version of its scope it was computed under; the current version of each scope is
a row of the database (CacheVersion). A write replaces that row in its own transaction, so every entry of the
scope stops matching once it commits, without finding or deleting the entries (which Redis cannot do atomically
across keys). The version is a fresh unique key, never a counter, and it lives in the database rather than in
Redis: a write made while Redis is unreachable still replaces it, and a Redis that comes back with its old data
(or an old dump) serves none of the entries that write made stale. A read costs one primary-key lookup for the
version and one cache round trip for the entry.

Until it commits, the new version is invisible to other transactions, so no read can store the old rows under it.
When the cache is unavailable (Redis down: django-redis with IGNORE_EXCEPTIONS answers "missing" and drops
writes after short socket timeouts) every read is computed afresh and nothing is stored. Used by the catalog
read cache (one scope) and the message counts (a scope per account).
"""

from collections.abc import Iterable
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import connections, router

from apps.core.cache import batch as cache_batch
from apps.core.keygen import new_key
from apps.core.models import CacheVersion

_VERSION_SQL = f"SELECT version FROM {CacheVersion._meta.db_table} WHERE scope = %s"  # noqa: S608 (a model's table)

CACHE_ALIAS = "default"


class VersionedCache:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def backend(self) -> BaseCache:
        return caches[CACHE_ALIAS]

    def scope_key(self, scope: str = "") -> str:
        return f"{self.prefix}:{scope}" if scope else self.prefix

    def entry_key(self, name: str) -> str:
        return f"{self.prefix}:entry:{name}"

    def current_version(self, scope: str = "") -> str:
        """The scope's version; a scope never written gets one now (the first of two concurrent readers wins)."""
        key = self.scope_key(scope)
        # Every cached read asks this; the ORM took longer to build the statement than the database to answer it.
        with connections[router.db_for_read(CacheVersion)].cursor() as cursor:
            cursor.execute(_VERSION_SQL, [key])
            row = cursor.fetchone()
        version: str | None = row[0] if row else None
        if version is None:
            CacheVersion.objects.bulk_create([CacheVersion(scope=key, version=new_key())], ignore_conflicts=True)
            version = CacheVersion.objects.values_list("version", flat=True).get(scope=key)
        return version

    def lookup(self, entry_key: str, scope: str = "", request: Any = None) -> tuple[str, Any]:
        """The scope's current version and the value cached under it (None when there is none). With `request`,
        an entry the request fetched already (apps.core.cache.batch) is not asked for again."""
        version = self.current_version(scope)
        found, entry = cache_batch.take_prefetched(request, entry_key)
        if not found:
            entry = self.backend.get(entry_key)
        if entry is not None and entry[0] == version:
            return version, entry[1]
        return version, None

    def store(self, entry_key: str, version: str, value: Any, timeout: int) -> None:
        self.backend.set(entry_key, (version, value), timeout=timeout)

    def invalidate(self, scope: str = "") -> None:
        """Make every entry of `scope` stale once the current transaction commits (at once outside one)."""
        self.invalidate_scopes([scope])

    def invalidate_scopes(self, scopes: Iterable[str]) -> None:
        # One statement; rows in a fixed order, so two writers that replace the same versions cannot deadlock.
        rows = [CacheVersion(scope=key, version=new_key()) for key in sorted({self.scope_key(s) for s in scopes})]
        CacheVersion.objects.bulk_create(
            rows, update_conflicts=True, unique_fields=["scope"], update_fields=["version"]
        )
