"""On PostgreSQL, each list query can be served by the index meant for it (models.py and migration 0002 say
which). Sequential scans are switched off so a tiny test table still shows the plan the index allows."""

from decimal import Decimal

import pytest
from django.db import connection
from django.http import QueryDict

from apps.products import selectors
from apps.products.filters import ProductFilter
from apps.products.models import Product
from tests.products.factories import CategoryFactory, PriceChangeFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

WORDS = ("bolt", "nail", "screw", "drill", "clamp", "chisel", "wrench", "ladder", "bucket", "glove", "tape")


@pytest.fixture
def plans(db):
    """A catalog big enough for the planner to prefer indexes: 5,000 products over 20 categories."""
    categories = [CategoryFactory(slug=f"category-{index}") for index in range(19)] + [CategoryFactory(slug="tools")]
    Product.objects.bulk_create(
        Product(
            sku=f"SKU-{index:05d}",
            name=f"Item {index:05d} {WORDS[index % len(WORDS)]}",
            description=f"A {WORDS[(index * 7) % len(WORDS)]} for every day",
            category=categories[index % len(categories)],
            price=Decimal(index % 997 + 1),
            is_available=index % 10 != 0,
        )
        for index in range(5000)
    )
    with connection.cursor() as cursor:
        for column in ("name", "description", "sku"):  # what autovacuum would do: merge GIN's pending list
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [f"product_live_{column}_trgm_idx"])
        cursor.execute("ANALYZE products_product")
        cursor.execute("SET LOCAL enable_seqscan = off")  # the test's transaction: rolled back after it

    def plan(query: str) -> str:
        filterset = ProductFilter(QueryDict(query), queryset=selectors.product_list())
        assert filterset.is_valid(), filterset.errors
        return selectors.product_rows(filterset.qs)[:20].explain()

    return plan


INDEX_FOR_QUERY = [
    ("", "product_live_created_idx"),
    ("ordering=created_at", "product_live_created_idx"),
    ("ordering=price", "product_live_price_idx"),
    ("ordering=-price", "product_live_price_idx"),
    ("min_price=10&max_price=20&ordering=price", "product_live_price_idx"),
    ("ordering=name", "product_live_name_idx"),
    ("ordering=-name", "product_live_name_idx"),
    ("category=tools", "product_category_created_idx"),
    ("is_available=false", "product_live_available_idx"),
    ("search=hammer", "product_live_name_trgm_idx"),
    ("search=hammer", "product_live_description_trgm_idx"),
    ("search=hammer", "product_live_sku_trgm_idx"),
    ("search=chisel&ordering=price", "product_live_name_trgm_idx"),
]


def test_each_list_query_has_its_index(plans) -> None:
    # One test over the table: building the catalog is most of the cost.
    missing = {query: index for query, index in INDEX_FOR_QUERY if index not in plans(query)}
    assert not missing, missing


def test_price_history_has_its_index(db) -> None:
    change = PriceChangeFactory()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    plan = selectors.product_price_history(product=change.product)[:20].explain()
    assert "pricechange_product_idx" in plan
