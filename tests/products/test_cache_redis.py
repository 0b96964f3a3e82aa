"""The read cache on a real Redis, read and written by two independent cache clients, as two web processes would.

Processes A and B talk to Redis through django-redis (the settings' backend: the catalog keeps its version's copy
through it) with connection pools and objects of their own, sharing nothing but the Redis server. Each switch of
`CACHES` drops every cache object Django holds, so nothing carries over in memory from one "process" to the other.
"""

import os
import time

import pytest
import time_machine
from django.core.cache import caches
from django_redis.cache import RedisCache

from apps.core.cache.versioned import RedisVersionedCache, VersionedCache
from apps.core.models import CacheVersion
from apps.products.cache import catalog_reads
from apps.products.models import Product
from tests.products.conftest import PRODUCTS, product_url

pytestmark = [pytest.mark.redis, pytest.mark.django_db]

PREFIX = "products-two-clients"


def django_redis() -> dict[str, object]:
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": PREFIX,
        "OPTIONS": {"CLIENT_CLASS": "django_redis.client.DefaultClient", "IGNORE_EXCEPTIONS": True},
    }


def other_django_redis() -> dict[str, object]:
    # django-redis keeps one connection pool per URL in the process: another URL to the same server, another pool.
    url = os.environ["REDIS_URL"]
    return {**django_redis(), "LOCATION": f"{url}{'&' if '?' in url else '?'}health_check_interval=30"}


@pytest.fixture
def process(settings):
    """`process("A")` / `process("B")`: the cache client the next requests go through."""

    def switch(name: str) -> None:
        settings.CACHES = {"default": django_redis() if name == "A" else other_django_redis()}

    switch("A")
    caches["default"].clear()
    yield switch
    switch("A")
    caches["default"].clear()


def test_both_processes_read_one_cache(process, user_client, product, cache_counters) -> None:
    user_client.get(PRODUCTS)  # A: miss, stored in Redis
    process("B")
    response = user_client.get(PRODUCTS)  # B: a hit on what A stored

    assert response.status_code == 200
    assert (cache_counters.misses, cache_counters.hits) == (1, 1)


@pytest.mark.parametrize(("writer", "reader"), [("A", "B"), ("B", "A")])
def test_a_write_through_one_process_is_seen_fresh_by_the_other(
    process, admin_client, product, committed, writer, reader
) -> None:
    process(reader)
    assert admin_client.get(PRODUCTS).json()["results"][0]["price"] == "19.99"
    assert admin_client.get(product_url(product)).json()["price"] == "19.99"
    assert admin_client.get(product_url(product)).json()["price"] == "19.99"  # warm in the reader

    process(writer)
    with committed():
        assert admin_client.patch(product_url(product, "price/"), {"price": "55.00"}, format="json").status_code == 200

    process(reader)
    assert admin_client.get(PRODUCTS).json()["results"][0]["price"] == "55.00"
    assert admin_client.get(product_url(product)).json()["price"] == "55.00"


def test_a_soft_delete_through_one_process_empties_the_others_list(process, admin_client, product, committed) -> None:
    process("B")
    assert admin_client.get(PRODUCTS).json()["count"] == 1
    process("A")
    with committed():
        admin_client.delete(product_url(product))
    process("B")
    assert admin_client.get(PRODUCTS).json()["count"] == 0
    assert admin_client.get(product_url(product)).status_code == 404


def test_the_version_lives_in_the_database_and_the_entries_in_redis(process, user_client, product) -> None:
    user_client.get(PRODUCTS)
    assert CacheVersion.objects.filter(scope=catalog_reads.scope_key()).exists()
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    (entry_key,) = backend.keys(catalog_reads.entry_key("*"))
    assert backend.get(entry_key)[0] == catalog_reads.current_version()


def test_the_version_copy_in_redis_is_raised_by_a_committed_write(process, admin_client, product, committed) -> None:
    admin_client.get(PRODUCTS)
    backend = caches["default"]
    assert backend.get(catalog_reads.version_key()) == catalog_reads.current_version()

    with committed():
        admin_client.patch(product_url(product, "price/"), {"price": "55.00"}, format="json")

    assert backend.get(catalog_reads.version_key()) == catalog_reads.current_version()


def test_a_new_connection_consults_the_database_before_trusting_the_copy_in_redis(
    process, user_client, product
) -> None:
    """A write that reached the database but not Redis (its process could not reach Redis, or Redis came back from
    an old dump): a connection made afterwards, as after a restart or a failover, does not trust the copy."""
    assert user_client.get(product_url(product)).json()["price"] == "19.99"  # cached, the copy checked

    Product.objects.filter(pk=product.pk).update(price="55.00")
    VersionedCache(catalog_reads.prefix).invalidate()  # the database's version alone, as such a write leaves it
    backend = caches["default"]
    assert isinstance(backend, RedisCache)
    backend.client.get_client(write=True).connection_pool.disconnect()  # what a restart or a failover does

    assert user_client.get(product_url(product)).json()["price"] == "55.00"
    assert backend.get(catalog_reads.version_key()) == catalog_reads.current_version()


def test_a_write_that_did_not_reach_redis_is_seen_by_open_connections_after_the_recheck_period(
    process, user_client, product
) -> None:
    """A write that reached the database but not Redis, while the reading process's connection stays open and
    checked (that one writer was cut off from Redis): the copy is trusted for RECHECK_SECONDS at most."""
    assert user_client.get(product_url(product)).json()["price"] == "19.99"  # cached, the copy checked

    Product.objects.filter(pk=product.pk).update(price="55.00")
    VersionedCache(catalog_reads.prefix).invalidate()  # the database's version alone, as such a write leaves it

    with time_machine.travel(time.time() + RedisVersionedCache.RECHECK_SECONDS + 0.01, tick=False):
        assert user_client.get(product_url(product)).json()["price"] == "55.00"
