"""The list runs the same few queries whatever the page size, the filters or the number of categories."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.products.cache import catalog_reads
from tests.products.conftest import PRODUCTS, product_url
from tests.products.factories import CategoryFactory, PriceChangeFactory, ProductFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("version_check_held")]

# At most: the token's user (when not cached yet), the catalog's cache version, the page count, the page itself
# (category slug joined in).
LIST_QUERIES = 4


@pytest.fixture
def many_products(db) -> None:
    categories = CategoryFactory.create_batch(5)
    for index in range(105):
        ProductFactory(category=categories[index % 5])
    catalog_reads.current_version()  # its row exists from the first read on


def count_queries(client, url: str) -> int:
    """Queries for `url` alone: the token's user is read once, then served from the authentication cache."""
    client.get("/api/v1/users/me/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("params", ["", "&ordering=-price&search=product&min_price=1&is_available=true"])
def test_list_query_count_does_not_grow_with_the_page(
    user_client, many_products, django_assert_max_num_queries, params
) -> None:
    with django_assert_max_num_queries(LIST_QUERIES):
        small = user_client.get(f"{PRODUCTS}?page_size=5{params}")
    with django_assert_max_num_queries(LIST_QUERIES):
        large = user_client.get(f"{PRODUCTS}?page_size=100{params}")

    assert (len(small.json()["results"]), len(large.json()["results"])) == (5, 100)
    assert count_queries(user_client, f"{PRODUCTS}?page_size=6{params}") == count_queries(
        user_client, f"{PRODUCTS}?page_size=99{params}"
    )


def test_the_page_query_selects_only_what_is_shown(user_client, many_products) -> None:
    with CaptureQueriesContext(connection) as queries:
        user_client.get(f"{PRODUCTS}?page_size=100")
    count_sql, page_sql = (query["sql"] for query in queries if "products_product" in query["sql"])
    selected = page_sql.split(' FROM "products_product"')[0]
    assert '"slug"' in selected
    assert "deleted_at" not in selected
    assert '"name" AS "name"' in selected
    assert "products_category" not in count_sql  # the count reads the products alone


def test_detail_is_one_query(user_client, many_products) -> None:
    product = ProductFactory()
    assert count_queries(user_client, product_url(product)) == 2  # the catalog's cache version, the product


def test_price_history_query_count_does_not_grow(user_client, django_assert_max_num_queries) -> None:
    product = ProductFactory()
    PriceChangeFactory.create_batch(30, product=product)
    small = count_queries(user_client, product_url(product, "price-history/?page_size=2"))
    large = count_queries(user_client, product_url(product, "price-history/?page_size=30"))
    assert small == large == 3  # product, count, page (emails joined in)
