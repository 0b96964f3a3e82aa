"""Counters in the cache (rate limits, failure counts): one place for how a counter is bumped.

On Redis a bump is INCR then EXPIRE NX (the expiry set only by the bump that made the key) in one script, whether it
goes alone (`bump_counter`) or with a request's reads in its batch (apps.core.cache.batch): one command, atomic
without a MULTI, and a first bump of a window no different from the others. Without Redis (the in-process cache)
a bump is the cache's own `incr`, or `add` for the first one of a window.
"""

import logging
from collections.abc import Sequence
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


# Reads the first ARGV[1] keys and bumps the others, each made with its lifetime (ARGV[2], ARGV[3], ...) on first use;
# answers the values read (nil when absent), then the counters' new values, in the order of KEYS.
READ_AND_BUMP_SCRIPT = """
local reads = tonumber(ARGV[1])
local answers = {}
for i = 1, #KEYS do
  if i <= reads then
    answers[i] = redis.call('GET', KEYS[i])
  else
    answers[i] = redis.call('INCR', KEYS[i])
    redis.call('EXPIRE', KEYS[i], ARGV[i - reads + 1], 'NX')
  end
end
return answers
"""


def read_and_bump_args(reads: Sequence[str], bumps: Sequence[tuple[str, int]]) -> tuple[Any, ...]:
    """EVAL's arguments for READ_AND_BUMP_SCRIPT: read the `reads` keys, bump each (key, lifetime) of `bumps`."""
    keys = [*reads, *(key for key, _ in bumps)]
    return (READ_AND_BUMP_SCRIPT, len(keys), *keys, len(reads), *(timeout for _, timeout in bumps))


def bump_counter(cache: BaseCache, key: str, timeout: int) -> int | None:
    """Add one to the counter at `key` (made with `timeout` on first use); None when the cache is down."""
    client = redis_client(cache)
    if client is None:
        return _bump_in_cache(cache, key, timeout)
    from redis.exceptions import RedisError  # imported here for the reason apps.core.cache.batch gives

    try:
        (count,) = client.get_client(write=True).eval(*read_and_bump_args((), [(client.make_key(key), timeout)]))
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
