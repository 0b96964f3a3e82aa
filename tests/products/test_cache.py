"""The catalog read cache: hits, misses, and never a stale read after a write."""

import socket
import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import transaction

from apps.products import services
from apps.products.cache import catalog_reads
from tests.products.conftest import PRODUCTS, product_url
from tests.products.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_second_read_is_a_hit(user_client, product, cache_counters) -> None:
    first = user_client.get(PRODUCTS)
    second = user_client.get(PRODUCTS)

    assert (cache_counters.misses, cache_counters.hits) == (1, 1)
    assert second.status_code == 200
    assert second.content == first.content
    assert second["Content-Type"] == first["Content-Type"] == "application/json"
    assert second["Vary"] == first["Vary"]


def test_detail_second_read_is_a_hit(user_client, product, cache_counters) -> None:
    first = user_client.get(product_url(product))
    second = user_client.get(product_url(product))
    assert (cache_counters.misses, cache_counters.hits) == (1, 1)
    assert second.json() == first.json()


def test_a_hit_runs_no_query_but_the_catalog_version(
    user_client, product, django_assert_num_queries, version_queries
) -> None:
    user_client.get(PRODUCTS)
    # The token's user comes from the authentication cache, the page too; the version from Redis or its row.
    with django_assert_num_queries(version_queries) as queries:
        assert user_client.get(PRODUCTS).status_code == 200
    assert all("core_cacheversion" in query["sql"] for query in queries.captured_queries)


def test_query_strings_that_mean_the_same_share_an_entry(user_client, product, cache_counters) -> None:
    user_client.get(f"{PRODUCTS}?page_size=5&ordering=name")
    user_client.get(f"{PRODUCTS}?ordering=name&search=&page_size=5")
    assert (cache_counters.misses, cache_counters.hits) == (1, 1)


def test_different_filters_are_different_entries(user_client, product, cache_counters) -> None:
    everything = user_client.get(PRODUCTS).json()
    nothing = user_client.get(PRODUCTS, {"search": "no such thing"}).json()
    assert (everything["count"], nothing["count"]) == (1, 0)
    assert cache_counters.misses == 2


def test_pagination_links_follow_the_host_asked(user_client, category) -> None:
    ProductFactory.create_batch(3, category=category)
    one = user_client.get(PRODUCTS, {"page_size": 1}, HTTP_HOST="localhost").json()
    other = user_client.get(PRODUCTS, {"page_size": 1}, HTTP_HOST="127.0.0.1").json()
    assert one["next"].startswith("http://localhost/")
    assert other["next"].startswith("http://127.0.0.1/")


@pytest.mark.parametrize(
    ("url", "status"),
    [(f"{PRODUCTS}?min_price=abc", 400), (f"{PRODUCTS}?page=9", 404), (f"{PRODUCTS}424242/", 404)],
)
def test_errors_are_never_cached(user_client, product, cache_counters, url, status) -> None:
    assert user_client.get(url).status_code == status
    assert user_client.get(url).status_code == status
    assert (cache_counters.misses, cache_counters.hits) == (2, 0)


def test_the_browsable_api_is_not_served_from_the_cache(user_client, product, cache_counters) -> None:
    user_client.get(PRODUCTS)
    response = user_client.get(PRODUCTS, HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("text/html")
    assert cache_counters.hits == 0


@pytest.mark.parametrize(
    ("write", "body"),
    [
        ("", {"name": "Renamed"}),
        ("price/", {"price": "99.00"}),
        ("availability/", {"is_available": False}),
    ],
)
def test_a_read_after_a_write_is_fresh(admin_client, product, committed, write, body) -> None:
    stale_list = admin_client.get(PRODUCTS).json()
    stale_detail = admin_client.get(product_url(product)).json()

    with committed():
        assert admin_client.patch(product_url(product, write), body, format="json").status_code == 200

    fresh_list = admin_client.get(PRODUCTS).json()["results"][0]
    fresh_detail = admin_client.get(product_url(product)).json()
    field, value = next(iter(body.items()))
    assert fresh_list[field] == fresh_detail[field] == value
    assert stale_list["results"][0][field] != value
    assert stale_detail[field] != value


def test_a_created_product_shows_up_at_once(admin_client, category, committed) -> None:
    assert admin_client.get(PRODUCTS).json()["count"] == 0
    with committed():
        admin_client.post(
            PRODUCTS, {"sku": "N-1", "name": "New", "category": category.slug, "price": "1.00"}, format="json"
        )
    assert admin_client.get(PRODUCTS).json()["count"] == 1


def test_a_deleted_product_disappears_from_the_cached_list_at_once(admin_client, product, committed) -> None:
    assert admin_client.get(PRODUCTS).json()["count"] == 1
    assert admin_client.get(product_url(product)).status_code == 200

    with committed():
        admin_client.delete(product_url(product))

    assert admin_client.get(PRODUCTS).json()["count"] == 0
    assert admin_client.get(product_url(product)).status_code == 404


def test_a_category_slug_change_refreshes_product_reads(user_client, admin_user, product, committed) -> None:
    assert user_client.get(product_url(product)).json()["category"] == "tools"
    with committed():
        services.category_update(category=product.category, data={"slug": "hand-tools"}, by=admin_user)
    assert user_client.get(product_url(product)).json()["category"] == "hand-tools"


def test_the_version_is_replaced_in_the_writes_transaction(user_client, admin_user, product, committed) -> None:
    user_client.get(PRODUCTS)
    before = catalog_reads.current_version()

    with committed():
        services.product_change_price(product=product, new_price=Decimal("30.00"), by=admin_user)

    assert catalog_reads.current_version() != before


def change_price_then_fail(product, admin_user) -> None:
    with transaction.atomic():
        services.product_change_price(product=product, new_price=Decimal("30.00"), by=admin_user)
        raise RuntimeError("rolled back")


def test_a_rolled_back_write_keeps_the_cache(user_client, admin_user, product, cache_counters, committed) -> None:
    user_client.get(PRODUCTS)
    with committed(), pytest.raises(RuntimeError):
        change_price_then_fail(product, admin_user)
    user_client.get(PRODUCTS)
    assert cache_counters.hits == 1


def test_a_cache_that_lost_its_data_starts_afresh(user_client, product, cache_counters) -> None:
    user_client.get(PRODUCTS)
    cache.clear()  # evicted, or Redis restarted without its data

    user_client.get(PRODUCTS)
    user_client.get(PRODUCTS)

    assert (cache_counters.misses, cache_counters.hits) == (2, 1)


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_redis_down_reads_and_writes_still_answer_quickly(
    settings, admin_client, product, committed, cache_counters
) -> None:
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {
                "CLIENT_CLASS": "django_redis.client.DefaultClient",
                "SOCKET_CONNECT_TIMEOUT": 0.25,
                "SOCKET_TIMEOUT": 0.25,
                "IGNORE_EXCEPTIONS": True,
            },
        }
    }
    started = time.perf_counter()

    listed = admin_client.get(PRODUCTS)
    detail = admin_client.get(product_url(product))
    with committed():
        changed = admin_client.patch(product_url(product, "price/"), {"price": "42.00"}, format="json")
    again = admin_client.get(product_url(product))

    assert (listed.status_code, detail.status_code, changed.status_code, again.status_code) == (200, 200, 200, 200)
    assert listed.json()["count"] == 1
    assert again.json()["price"] == "42.00"
    assert cache_counters.hits == 0
    assert time.perf_counter() - started < 5
