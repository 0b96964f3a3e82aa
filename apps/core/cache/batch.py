"""Several cache reads of one request in one Redis round trip.

A cached catalog read used to make three: the token's user, the rate-limit counter and the cached body, each
waiting for the one before. A view that knows its keys up front asks for them here at once (one script); the
readers (authentication, the throttle, the read cache) then take their answer from the request instead of asking
Redis again. Each answer is used once, so a counter is never counted twice; a check made before its reader runs
(the catalog's warm reads, answered before DRF) peeks at an answer and leaves it for that reader. Without Redis
(the in-process cache), or when the pipeline fails, nothing is kept and every reader asks the cache itself, as it
would have.
"""

import logging
from collections.abc import Sequence
from typing import Any

from django.core.cache import caches
from django.http import HttpRequest

from apps.core.cache.counters import read_and_bump_args

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
_GETS = "_cache_batch_gets"
_COUNTS = "_cache_batch_counts"
_CONNECTION_NAME = "_cache_batch_connection_name"


def _django_request(request: Any) -> HttpRequest:
    inner: HttpRequest = getattr(request, "_request", request)  # a DRF Request wraps Django's
    return inner


def prefetch(request: Any, *, get: Sequence[str] = (), bump: Sequence[tuple[str, int]] = ()) -> bool:
    """Read the `get` keys and add one to each `bump` counter (made with its timeout, in seconds, on first use)
    in one round trip (one script, atomic), and keep the answers on the request, with the name of the connection
    they came over (apps.core.cache.versioned trusts a version read over a connection it checked). False when
    nothing was kept."""
    cache = caches[CACHE_ALIAS]
    if not (get or bump) or not type(cache).__module__.startswith("django_redis."):
        return False
    # Imported only here: redis-py loads OpenTelemetry's API as it imports, which the embedded defaults never need.
    from django_redis.cache import RedisCache
    from redis.exceptions import RedisError

    if not isinstance(cache, RedisCache):
        return False
    client = cache.client
    try:
        pipe = client.get_client(write=True).pipeline(transaction=False)
        pipe.client_getname()  # of the connection the script runs over: see connection_name
        pipe.eval(
            *read_and_bump_args([client.make_key(key) for key in get], [(client.make_key(k), t) for k, t in bump])
        )
        name, answers = pipe.execute()
    except (RedisError, OSError) as exc:
        logger.warning("Cache batch failed, each read goes alone: %s", exc)
        return False
    inner = _django_request(request)
    gets = {key: None if raw is None else client.decode(raw) for key, raw in zip(get, answers, strict=False)}
    counts = {key: int(answers[len(get) + n]) for n, (key, _) in enumerate(bump)}
    setattr(inner, _CONNECTION_NAME, name)
    setattr(inner, _GETS, {**getattr(inner, _GETS, {}), **gets})
    setattr(inner, _COUNTS, {**getattr(inner, _COUNTS, {}), **counts})
    return True


def fetched(request: Any) -> bool:
    """Whether this request has made its batch already (its answers wait for their readers)."""
    return hasattr(_django_request(request), _CONNECTION_NAME)


def peek(request: Any, key: str) -> tuple[bool, Any]:
    """As `take_prefetched`, leaving the answer for its reader: for a check made before that reader runs."""
    gets: dict[str, Any] = getattr(_django_request(request), _GETS, {})
    return (True, gets[key]) if key in gets else (False, None)


def peek_count(request: Any, key: str) -> int | None:
    """As `take_count`, leaving the count for the throttle that bumped it."""
    counts: dict[str, int] = getattr(_django_request(request), _COUNTS, {})
    return counts.get(key)


def take_prefetched(request: Any, key: str) -> tuple[bool, Any]:
    """(True, the value or None when absent) if `key` was prefetched for this request, else (False, None)."""
    if request is None:
        return False, None
    gets: dict[str, Any] = getattr(_django_request(request), _GETS, {})
    if key in gets:
        return True, gets.pop(key)
    return False, None


def connection_name(request: Any) -> str | None:
    """The name of the Redis connection this request's batch came over (None without a batch or a name)."""
    name: str | None = getattr(_django_request(request), _CONNECTION_NAME, None)
    return name


def take_count(request: Any, key: str) -> int | None:
    """The counter's new value if this request already bumped it in a batch, else None (bump it yourself)."""
    if request is None:
        return None
    counts: dict[str, int] = getattr(_django_request(request), _COUNTS, {})
    return counts.pop(key, None)
