"""Cache entries that a write makes stale at once, in every process: the version-token pattern.

Every entry is stored with the version of its scope it was computed under; the current version of each scope is
a row of the database (CacheVersion). A write replaces that row in its own transaction, so every entry of the
scope stops matching once it commits, without finding or deleting the entries (which Redis cannot do atomically
across keys). The database owns the version: a write made while Redis is unreachable still replaces it, and a
Redis that comes back with its old data (or an old dump) serves none of the entries that write made stale.
Versions are integers that only grow: the write's microseconds, or one more than the last when the clock lags (one
statement, under the row's lock), so of two versions the newer is the larger, and a version made after the
database was restored from a backup is larger than any made before.

Until it commits, the new version is invisible to other transactions, so no read can store the old rows under it.
When the cache is unavailable (Redis down: django-redis with IGNORE_EXCEPTIONS answers "missing" and drops
writes after short socket timeouts) every read is computed afresh and nothing is stored.

`VersionedCache` (the message counts: a scope per account) reads the database's version on every read: one
primary-key lookup, then one cache round trip for the entry. `RedisVersionedCache` (the catalog: one scope, read
far more often than written) keeps a copy of the version in Redis and reads it in the same round trip as the entry
(see that class for when the copy is trusted).
"""

from collections.abc import Iterable
from time import time_ns
from typing import Any

from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.db import connections, router, transaction

from apps.core.cache import batch as cache_batch
from apps.core.cache.counters import redis_client
from apps.core.models import CacheVersion

CACHE_ALIAS = "default"
_TABLE = CacheVersion._meta.db_table
_VERSION_SQL = f"SELECT version FROM {_TABLE} WHERE scope = %s"  # noqa: S608 (a model's table)
# Portable to PostgreSQL and SQLite: ON CONFLICT … DO UPDATE with the row locked, so concurrent writers of one
# scope get increasing versions in the order they commit.
_NEXT_VERSION_SQL = (
    f"INSERT INTO {_TABLE} (scope, version) VALUES {{rows}} ON CONFLICT (scope) DO UPDATE SET version = "  # noqa: S608
    f"CASE WHEN {_TABLE}.version >= excluded.version THEN {_TABLE}.version + 1 ELSE excluded.version END"
)


def _clock_version() -> int:
    return time_ns() // 1000


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

    def current_version(self, scope: str = "") -> int:
        """The scope's version in the database; a scope never written gets one now (the first of two concurrent
        readers wins)."""
        key = self.scope_key(scope)
        # Every read of a VersionedCache asks this; the ORM took longer to build the statement than the database
        # to answer it.
        with connections[router.db_for_read(CacheVersion)].cursor() as cursor:
            cursor.execute(_VERSION_SQL, [key])
            row = cursor.fetchone()
        if row is not None:
            return int(row[0])
        CacheVersion.objects.bulk_create([CacheVersion(scope=key, version=_clock_version())], ignore_conflicts=True)
        return CacheVersion.objects.values_list("version", flat=True).get(scope=key)

    def lookup(self, entry_key: str, scope: str = "", request: Any = None) -> tuple[int, Any]:
        """The scope's current version and the value cached under it (None when there is none). With `request`,
        an entry the request fetched already (apps.core.cache.batch) is not asked for again."""
        version = self.current_version(scope)
        found, entry = cache_batch.take_prefetched(request, entry_key)
        if not found:
            entry = self.backend.get(entry_key)
        return version, _value_under(entry, version)

    def store(self, entry_key: str, version: int, value: Any, timeout: int) -> None:
        self.backend.set(entry_key, (version, value), timeout=timeout)

    def invalidate(self, scope: str = "") -> None:
        """Make every entry of `scope` stale once the current transaction commits (at once outside one)."""
        self.invalidate_scopes([scope])

    def invalidate_scopes(self, scopes: Iterable[str]) -> None:
        self._replace_versions(scopes)

    def _replace_versions(self, scopes: Iterable[str]) -> dict[str, int]:
        """Give each scope a newer version in the database (one statement), in the current transaction."""
        # Rows in a fixed order, so two writers that replace the same versions cannot deadlock.
        keys = sorted({self.scope_key(s) for s in scopes})
        if not keys:
            return {}
        now = _clock_version()
        with connections[router.db_for_write(CacheVersion)].cursor() as cursor:
            cursor.execute(
                _NEXT_VERSION_SQL.format(rows=", ".join(["(%s, %s)"] * len(keys))) + " RETURNING scope, version",
                [value for key in keys for value in (key, now)],
            )
            return {scope: int(version) for scope, version in cursor.fetchall()}


class RedisVersionedCache(VersionedCache):
    """A VersionedCache whose version is also kept in Redis and read in the same round trip as the entry, so a warm
    read asks the database nothing.

    The copy in Redis is trusted only on a connection that carries the checked name of the current second
    (`checked_name()`): a process names a connection so when, over it, it has raised the copy to the database's
    version (a Lua script that only ever raises it). A connection's name lives in the Redis server's memory, never
    in its data: a restarted or failed-over Redis, or a new connection, has none, so the first read over it
    consults the database, however old the data Redis came back with. A write takes the copy away before it
    commits (readers meanwhile consult the database) and raises it to its own version once committed; a write that
    could not reach Redis drops the process's connections, so its next read consults the database too. Other
    processes, whose Redis that write could not reach, consult the database once their name's second has passed:
    a connection's check holds for RECHECK_SECONDS, so what such a write leaves behind lasts that long at most, for
    one database read per connection and period. Without Redis (the in-process cache) it is a VersionedCache.
    """

    CHECKED_NAME = "cache-versions-checked"
    RECHECK_SECONDS = 1
    VERSION_SECONDS = 24 * 60 * 60  # an expired copy costs one database read
    # Raise KEYS[1] to ARGV[1] unless it is newer already; answers the version it holds after.
    _RAISE = """
    local held = tonumber(redis.call('GET', KEYS[1]))
    if held and held >= tonumber(ARGV[1]) then return held end
    redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
    return tonumber(ARGV[1])
    """

    def version_key(self, scope: str = "") -> str:
        return _version_key(self.scope_key(scope))

    @classmethod
    def checked_name(cls) -> str:
        """The name of a connection whose copy was compared with the database's in the current period."""
        return f"{cls.CHECKED_NAME}:{time_ns() // (cls.RECHECK_SECONDS * 1_000_000_000)}"

    def prefetch_keys(self, entry_key: str, scope: str = "") -> list[str]:
        """The keys a read of `entry_key` takes from a request's batch (apps.core.cache.batch)."""
        return [self.version_key(scope), entry_key]

    def batched_lookup(self, request: Any, entry_key: str, scope: str = "") -> tuple[int, Any] | None:
        """What `lookup` would answer, from the request's batch alone and leaving it in place: None unless the
        batch holds both keys and came over a connection checked in the current period (only `lookup` can then
        tell)."""
        (has_version, version), (has_entry, entry) = (
            cache_batch.peek(request, key) for key in (self.version_key(scope), entry_key)
        )
        if not (has_version and has_entry and isinstance(version, int)):
            return None
        if cache_batch.connection_name(request) != self.checked_name():
            return None
        return version, _value_under(entry, version)

    def lookup(self, entry_key: str, scope: str = "", request: Any = None) -> tuple[int, Any]:
        client = redis_client(self.backend)
        if client is None:
            return super().lookup(entry_key, scope, request)
        answers = self._read_together(client, entry_key, scope, request)
        if answers is None:  # Redis unreachable: the read is computed afresh (and stored nowhere)
            return self.current_version(scope), None
        name, version, entry = answers
        if name != self.checked_name() or not isinstance(version, int):
            version = self._check(client, scope)
        return version, _value_under(entry, version)

    def invalidate_scopes(self, scopes: Iterable[str]) -> None:
        client = redis_client(self.backend)
        scopes = list(scopes)
        if client is not None:
            self._redis_call(client, lambda pipe: [pipe.delete(client.make_key(self.version_key(s))) for s in scopes])
        versions = self._replace_versions(scopes)
        if client is not None:
            transaction.on_commit(lambda: self._raise(client, versions), using=router.db_for_write(CacheVersion))

    def _read_together(self, client: Any, entry_key: str, scope: str, request: Any) -> tuple[Any, Any, Any] | None:
        """This connection's name, the version held in Redis and the entry: from the request's batch when it
        fetched them, else in one round trip."""
        version_key = self.version_key(scope)
        found_version, version = cache_batch.take_prefetched(request, version_key)
        found_entry, entry = cache_batch.take_prefetched(request, entry_key)
        if found_version and found_entry:
            return cache_batch.connection_name(request), version, entry
        answers = self._redis_call(
            client,
            lambda pipe: [
                pipe.client_getname(),
                pipe.get(client.make_key(version_key)),
                pipe.get(client.make_key(entry_key)),
            ],
        )
        if answers is None:
            return None
        name, raw_version, raw_entry = answers
        return name, _decoded(client, raw_version), _decoded(client, raw_entry)

    def _check(self, client: Any, scope: str) -> int:
        """The database's version, with the copy in Redis raised to it and this connection named as checked (one
        round trip). Redis may hold a newer one (a write committed since the database answered): that one."""
        version = self.current_version(scope)
        key = client.make_key(self.version_key(scope))
        answers = self._redis_call(
            client,
            lambda pipe: [
                pipe.eval(self._RAISE, 1, key, version, self.VERSION_SECONDS),
                pipe.client_setname(self.checked_name()),
            ],
        )
        return int(answers[0]) if answers else version

    def _raise(self, client: Any, versions: dict[str, int]) -> None:
        self._redis_call(
            client,
            lambda pipe: [
                pipe.eval(self._RAISE, 1, client.make_key(_version_key(scope_key)), version, self.VERSION_SECONDS)
                for scope_key, version in versions.items()
            ],
        )

    @staticmethod
    def _redis_call(client: Any, queue: Any) -> list[Any] | None:
        """Run what `queue` puts on one pipeline (one connection, one round trip); None when Redis could not be
        reached, after dropping this process's connections (their next use is a new, unchecked connection)."""
        from redis.exceptions import RedisError  # imported here for the reason apps.core.cache.batch gives

        redis = client.get_client(write=True)
        try:
            pipe = redis.pipeline(transaction=True)
            queue(pipe)
            answers: list[Any] = pipe.execute()
        except (RedisError, OSError):
            redis.connection_pool.disconnect()
            return None
        return answers


def _version_key(scope_key: str) -> str:
    return f"{scope_key}:version"


def _value_under(entry: Any, version: int) -> Any:
    return entry[1] if isinstance(entry, tuple) and entry[0] == version else None


def _decoded(client: Any, raw: bytes | None) -> Any:
    return None if raw is None else client.decode(raw)
