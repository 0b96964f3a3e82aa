"""The read cache on a real Redis, read and written by two independent cache clients, as two web processes would.

Process A talks to Redis through django-redis, process B through Django's own Redis backend: different client
libraries, connection pools and objects, sharing nothing but the Redis server. Each switch of `CACHES` drops
every cache object Django holds, so nothing carries over in memory from one "process" to the other.
"""

import os

import pytest
from django.core.cache import caches
from django_redis.cache import RedisCache

from apps.core.models import CacheVersion
from apps.products.cache import catalog_reads
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


def builtin_redis() -> dict[str, object]:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ["REDIS_URL"],
        "KEY_PREFIX": PREFIX,
    }


@pytest.fixture
def process(settings):
    """`process("A")` / `process("B")`: the cache client the next requests go through."""

    def switch(name: str) -> None:
        settings.CACHES = {"default": django_redis() if name == "A" else builtin_redis()}

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
