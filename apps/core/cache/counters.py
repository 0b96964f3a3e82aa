"""Counters in the cache (rate limits, failure counts): one place for how a counter is bumped.

On Redis a bump is one script, INCR then EXPIRE NX (the expiry set only by the bump that made the key), whether it
goes alone (`bump_counter`) or in a request's batch (apps.core.cache.batch): one command and one answer, atomic
without a MULTI, and a first bump of a window no different from the others. Without Redis (the in-process cache)
a bump is the cache's own `incr`, or `add` for the first one of a window.
"""

import logging
from typing import Any

from django.core.cache.backends.base import BaseCache

logger = logging.getLogger(__name__)


def redis_client(backend: BaseCache) -> Any:
    """django-redis's client of `backend`, or None for another cache (the in-process one).

    `backend` may be `django.core.cache.cache` (what DRF's throttles hold): a proxy whose own type is not the
    backend's, so the client is looked up through it."""
    client = getattr(backend, "client", None)
    if client is None or not type(client).__module__.startswith("django_redis."):
        return None
    return client


BUMP_SCRIPT = "local n = redis.call('INCR', KEYS[1]) redis.call('EXPIRE', KEYS[1], ARGV[1], 'NX') return n"


def queue_bump(pipe: Any, redis_key: str, timeout: int) -> None:
    """Put one counter's bump on a Redis pipeline: one answer, the counter's new value."""
    pipe.eval(BUMP_SCRIPT, 1, redis_key, timeout)


def bump_counter(cache: BaseCache, key: str, timeout: int) -> int | None:
    """Add one to the counter at `key` (made with `timeout` on first use); None when the cache is down."""
    client = redis_client(cache)
    if client is None:
        return _bump_in_cache(cache, key, timeout)
    from redis.exceptions import RedisError  # imported here for the reason apps.core.cache.batch gives

    try:
        count = client.get_client(write=True).eval(BUMP_SCRIPT, 1, client.make_key(key), timeout)
    except (RedisError, OSError) as exc:  # the limit fails open, as django-redis's IGNORE_EXCEPTIONS would
        logger.warning("Counter %s not bumped, the cache is down: %s", key, exc)
        return None
    return int(count)


def _bump_in_cache(cache: BaseCache, key: str, timeout: int) -> int | None:
    try:
        return cache.incr(key)
    except ValueError:  # first of the window
        if cache.add(key, 1, timeout):
            return 1
        try:
            return cache.incr(key)
        except ValueError:
            return None
