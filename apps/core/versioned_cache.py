"""Cache entries that a write makes stale at once, in every process: the version-token pattern.

Every entry is stored with the version of its scope it was computed under; one key per scope holds the current
version. A write replaces that version (after its transaction commits), so every entry of the scope stops
matching at once, without finding or deleting the entries (which Redis cannot do atomically across keys). The
version is a fresh unique key, never a counter: a counter that restarts (key evicted, Redis flushed) could come
back to an old value and revive old entries. A read fetches the version and its entry in one round trip.

When the cache is unavailable (Redis down: django-redis with IGNORE_EXCEPTIONS answers "missing" and drops
writes after short socket timeouts) every read is computed afresh and nothing is stored. Used by the catalog
read cache (one scope) and the message counts (a scope per account).
"""

from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import transaction

from .keygen import new_key

CACHE_ALIAS = "default"


class VersionedCache:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    @property
    def backend(self) -> BaseCache:
        return caches[CACHE_ALIAS]

    def version_key(self, scope: str = "") -> str:
        return f"{self.prefix}:version:{scope}" if scope else f"{self.prefix}:version"

    def entry_key(self, name: str) -> str:
        return f"{self.prefix}:entry:{name}"

    def lookup(self, entry_key: str, scope: str = "") -> tuple[str | None, Any]:
        """The scope's current version (None: the cache cannot keep one, so store nothing) and the value cached
        under it (None when there is none)."""
        version_key = self.version_key(scope)
        found = self.backend.get_many([version_key, entry_key])
        version = found.get(version_key)
        if version is None:
            version = new_key()
            # `add`, not `set`: of two processes that both found no version, the first one's wins. A failed add
            # (the cache is down, or another process won) means this read must not store what it computes.
            return (version if self.backend.add(version_key, version, timeout=None) else None), None
        entry = found.get(entry_key)
        if entry is not None and entry[0] == version:
            return version, entry[1]
        return version, None

    def store(self, entry_key: str, version: str, value: Any, timeout: int) -> None:
        self.backend.set(entry_key, (version, value), timeout=timeout)

    def invalidate(self, scope: str = "") -> None:
        """Make every entry of `scope` stale once the current transaction commits (at once outside one).

        Replacing the version before the commit would let a read in between store the old rows under the new one.
        """
        transaction.on_commit(lambda: self.backend.set(self.version_key(scope), new_key(), timeout=None))
