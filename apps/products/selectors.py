"""Catalog reads: one place that decides which rows and columns each read touches."""

from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from apps.core.http.conditional import make_etag

from .models import Category, PriceChange, Product

# Exactly what a product answer shows: list and detail reads select these columns and nothing else.
PRODUCT_COLUMNS = (
    "id",
    "sku",
    "name",
    "description",
    "category_slug",
    "price",
    "currency",
    "stock",
    "is_available",
    "image",
    "created_at",
    "updated_at",
)
# Newest first; the id breaks ties so pages are stable when two products share a timestamp.
DEFAULT_ORDERING = ("-created_at", "-id")


def category_list() -> QuerySet[Category]:
    return Category.objects.order_by("slug")


def product_list() -> QuerySet[Product]:
    """Live products, newest first: what the list filters narrow and what detail lookups search."""
    return Product.objects.order_by(*DEFAULT_ORDERING)


def product_rows(products: QuerySet[Product]) -> QuerySet[Product, dict[str, Any]]:
    """The columns a product answer shows, as plain rows (no query per row).

    Reads build their answer from these rows (`serializers.product_read_data`): skipping model instances and
    serializer fields makes a page of 100 several times cheaper to build. The category slug is a correlated
    subquery rather than a join, so the paginator's COUNT (which drops unused annotations) stays on the
    products table alone."""
    slug = Category.objects.filter(pk=OuterRef("category_id")).values("slug")[:1]
    return products.annotate(category_slug=Subquery(slug)).values(*PRODUCT_COLUMNS)


def product_etag(row: dict[str, Any]) -> str:
    """The ETag of a product answer: a hash of the row it is built from (`product_rows`), so any write to the
    product (or its category's slug) changes it, and a write can compare it under the row lock."""
    return make_etag(*(row[column] for column in PRODUCT_COLUMNS))


def product_current_etag(*, product_pk: int) -> str | None:
    """The ETag a detail read of the product would answer now; None when it is deleted or missing."""
    row = product_rows(product_list().filter(pk=product_pk)).first()
    return None if row is None else product_etag(row)


def product_price_history(*, product: Product) -> QuerySet[PriceChange]:
    """A product's price changes, newest first, with the changing admin's email joined in."""
    return (
        PriceChange.objects.filter(product=product)
        .select_related("changed_by")
        .only("old_price", "new_price", "changed_at", "changed_by__email")
        .order_by("-changed_at", "-id")
    )
