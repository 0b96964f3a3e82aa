"""A request's batch: its reads and counter bumps in one round trip, answered to their readers once each."""

import pytest
from django.core.cache import caches
from django.http import HttpRequest

from apps.core.cache import batch


@pytest.mark.redis
def test_reads_and_bumps_go_in_one_round_trip_and_answer_in_order(redis_round_trips) -> None:
    cache = caches["default"]
    cache.set("batch-present", {"a": 1})
    request = HttpRequest()
    redis_round_trips.clear()

    assert batch.prefetch(request, get=["batch-present", "batch-absent"], bump=[("batch-hits", 30), ("batch-b", 60)])

    assert len(redis_round_trips) == 1
    assert batch.peek(request, "batch-present") == (True, {"a": 1})
    assert batch.take_prefetched(request, "batch-absent") == (True, None)
    assert batch.take_prefetched(request, "batch-absent") == (False, None)  # each answer is taken once
    assert [batch.take_count(request, "batch-hits"), batch.take_count(request, "batch-b")] == [1, 1]
    assert batch.fetched(request)


@pytest.mark.redis
def test_a_counter_bumped_in_a_batch_keeps_the_lifetime_of_the_bump_that_made_it() -> None:
    cache = caches["default"]
    first, second = HttpRequest(), HttpRequest()

    batch.prefetch(first, bump=[("batch-window", 30)])
    batch.prefetch(second, get=["batch-window"], bump=[("batch-window", 3600)])

    assert batch.take_count(first, "batch-window") == 1
    assert batch.take_count(second, "batch-window") == 2
    assert batch.take_prefetched(second, "batch-window") == (True, 1)  # read before the bump, in one script
    assert 0 < cache.ttl("batch-window") <= 30  # type: ignore[attr-defined]


def test_without_redis_nothing_is_kept_and_each_reader_asks_the_cache(settings) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    request = HttpRequest()

    assert not batch.prefetch(request, get=["batch-present"], bump=[("batch-hits", 30)])
    assert not batch.fetched(request)
    assert batch.take_count(request, "batch-hits") is None
