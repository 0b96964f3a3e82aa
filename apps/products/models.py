"""The catalog: categories, products (soft-deleted, never removed) and each product's price history.

Index notes (what each index serves; every live-row index is partial on `deleted_at IS NULL`, the condition
the default manager adds to every query, so deleted rows cost nothing in them):

- `product_live_created_idx` (created_at DESC, id DESC): the default list order `-created_at, -id`, and
  `ordering=created_at` by a backward scan; LIMIT/OFFSET pages stop early instead of sorting the table.
- `product_live_price_idx` (price, id): `ordering=price` / `-price` (forward/backward scan) and the
  `min_price` / `max_price` range filters.
- `product_live_name_idx` (name, id): `ordering=name` / `-name`.
- `product_category_created_idx` (category_id, created_at DESC, id DESC), not partial: `?category=<slug>` with
  the default order (the filter resolves the slug to an id first, so this is one index range, already sorted),
  and the foreign key's own lookups (PROTECT on category delete must see deleted products too), so the FK gets
  no separate index.
- `product_live_available_idx` (is_available, created_at DESC, id DESC): `?is_available=` with the default order.
- `sku` unique (all rows, deleted ones included: a sku stays reserved for the history that names it).
- On PostgreSQL only, migration 0002 adds trigram GIN indexes for `?search=` (see there).
- `pricechange_product_idx` (product_id, changed_at DESC, id DESC): a product's price history, newest first
  (and the foreign key's lookups).
"""

from typing import ClassVar

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from .validators import validate_positive_price

# ISO 4217 codes the catalog accepts; a fixed list so a typo ("USS") is a 400, not a new currency.
CURRENCY_CODES = (
    "AED", "ARS", "AUD", "BGN", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK", "DKK", "EGP", "EUR", "GBP",
    "GEL", "HKD", "HUF", "IDR", "ILS", "INR", "ISK", "JPY", "KES", "KRW", "KZT", "MAD", "MXN", "MYR", "NGN",
    "NOK", "NZD", "PEN", "PHP", "PKR", "PLN", "QAR", "RON", "RSD", "SAR", "SEK", "SGD", "THB", "TRY", "TWD",
    "UAH", "USD", "UZS", "VND", "ZAR",
)  # fmt: skip
CURRENCY_CHOICES = [(code, code) for code in CURRENCY_CODES]
LIVE = Q(deleted_at__isnull=True)


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def product_image_path(instance: "Product", filename: str) -> str:
    return f"products/{instance.pk}/{filename}"


class Category(models.Model):
    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=100)

    class Meta:
        verbose_name_plural = "categories"

    def __str__(self) -> str:
        return self.name


class LiveProductManager(models.Manager["Product"]):
    """Products that are not soft-deleted: every read of the catalog, the admin included, goes through this."""

    def get_queryset(self) -> models.QuerySet["Product"]:
        return super().get_queryset().filter(deleted_at__isnull=True)


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="products", db_index=False)
    price = models.DecimalField(max_digits=12, decimal_places=2, validators=[validate_positive_price])
    currency = models.CharField(max_length=3, choices=CURRENCY_CHOICES, default=default_currency)
    stock = models.IntegerField(default=0, validators=[MinValueValidator(0)])
    is_available = models.BooleanField(default=True)
    image = models.ImageField(upload_to=product_image_path, blank=True, max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True, editable=False)

    # The first manager is the default one (admin, serializers' querysets, related lookups from Category).
    objects: ClassVar[LiveProductManager] = LiveProductManager()
    all_objects: ClassVar[models.Manager["Product"]] = models.Manager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="product_price_positive"),
            models.CheckConstraint(condition=Q(stock__gte=0), name="product_stock_not_negative"),
            models.CheckConstraint(condition=Q(currency__in=CURRENCY_CODES), name="product_currency_known"),
        ]
        indexes = [
            models.Index(fields=["-created_at", "-id"], name="product_live_created_idx", condition=LIVE),
            models.Index(fields=["price", "id"], name="product_live_price_idx", condition=LIVE),
            models.Index(fields=["name", "id"], name="product_live_name_idx", condition=LIVE),
            models.Index(fields=["category", "-created_at", "-id"], name="product_category_created_idx"),
            models.Index(
                fields=["is_available", "-created_at", "-id"], name="product_live_available_idx", condition=LIVE
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class PriceChange(models.Model):
    # No separate FK index: pricechange_product_idx starts with product_id and serves those lookups too.
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="price_changes", db_index=False)
    old_price = models.DecimalField(max_digits=12, decimal_places=2)
    new_price = models.DecimalField(max_digits=12, decimal_places=2)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["product", "-changed_at", "-id"], name="pricechange_product_idx")]

    def __str__(self) -> str:
        return f"{self.product_id}: {self.old_price} -> {self.new_price}"
