"""Shapes of the catalog API (docs/api.md "Catalog"): validation only, no side effects."""

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.request import Request
from rest_framework.validators import UniqueValidator

from apps.core.http.formats import utc_iso
from apps.users.models import User

from .models import Category, PriceChange, Product

MIN_PRICE = Decimal("0.01")


class StrictBooleanField(serializers.BooleanField):
    """`true` or `false` (JSON booleans, or those two words from a form), not DRF's "yes"/"on"/1 and friends."""

    default_error_messages = {"invalid": "Must be a boolean: true or false."}
    # DRF reads an absent form checkbox as false; an absent value must stay absent (or "required").
    default_empty_html = empty

    def to_internal_value(self, data: Any) -> bool:
        if isinstance(data, bool):
            return data
        if data in ("true", "false"):
            return data == "true"
        self.fail("invalid")
        raise AssertionError  # fail() raises


class PriceField(serializers.DecimalField):
    """A price: a decimal string or a JSON number, > 0, at most two places; answered as a two-place string.

    Its OpenAPI schema (string in answers, string or number in requests) is in `schema.py`."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", MIN_PRICE)
        kwargs.setdefault("error_messages", {"min_value": "Ensure this value is greater than 0."})
        super().__init__(max_digits=12, decimal_places=2, coerce_to_string=True, **kwargs)


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ("id", "slug", "name")


class ProductSerializer(serializers.ModelSerializer):
    """A product as every catalog read and write answers it."""

    sku = serializers.CharField(
        max_length=64,
        # Deleted products keep their sku: it names them in the price history and the audit trail.
        validators=[UniqueValidator(queryset=Product.all_objects.all(), message="A product with this sku exists.")],
    )
    category = serializers.SlugRelatedField(slug_field="slug", queryset=Category.objects.all())
    price = PriceField()
    is_available = StrictBooleanField(required=False, initial=True, help_text="Defaults to true on create.")
    image_url = serializers.SerializerMethodField()

    class Meta:
        model = Product
        fields = (
            "id",
            "sku",
            "name",
            "description",
            "category",
            "price",
            "currency",
            "stock",
            "is_available",
            "image_url",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        extra_kwargs = {
            # The browsable API's form starts from the model's default, not null (which the API refuses).
            "stock": {"initial": 0},
            # `initial` is what the browsable API's form shows: the default, not the first currency of the list.
            "currency": {
                "help_text": "ISO 4217 code; defaults to the service's DEFAULT_CURRENCY.",
                "initial": lambda: settings.DEFAULT_CURRENCY,
            },
        }

    @extend_schema_field(serializers.URLField(allow_null=True, help_text="Absolute URL of the image, or null."))
    def get_image_url(self, product: Product) -> str | None:
        if not product.image:
            return None
        url = product.image.url
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url


def product_read_data(rows: Iterable[dict[str, Any]], *, request: Request | None) -> list[dict[str, Any]]:
    """What `ProductSerializer` answers, built from `selectors.product_rows` for the list and detail reads.

    The same shape and formats (two-place price strings, UTC times with `Z`, absolute image URLs); the tests
    hold the two to the same bodies."""
    build_url = request.build_absolute_uri if request is not None else str
    image_storage = Product._meta.get_field("image").storage
    return [
        {
            "id": row["id"],
            "sku": row["sku"],
            "name": row["name"],
            "description": row["description"],
            "category": row["category_slug"],
            "price": f"{row['price']:.2f}",
            "currency": row["currency"],
            "stock": row["stock"],
            "is_available": row["is_available"],
            "image_url": build_url(image_storage.url(row["image"])) if row["image"] else None,
            "created_at": utc_iso(row["created_at"]),
            "updated_at": utc_iso(row["updated_at"]),
        }
        for row in rows
    ]


class ProductPriceInput(serializers.Serializer):
    price = PriceField()


class ProductAvailabilityInput(serializers.Serializer):
    is_available = StrictBooleanField(required=True)


class ProductImageInput(serializers.Serializer):
    image = serializers.FileField(help_text="A PNG, JPEG or WebP image of at most 5 MB.")


class PriceChangeSerializer(serializers.ModelSerializer):
    old_price = PriceField(read_only=True)
    new_price = PriceField(read_only=True)
    changed_by: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="email", read_only=True, allow_null=True, help_text="The admin's email; null once deleted."
    )

    class Meta:
        model = PriceChange
        fields = ("old_price", "new_price", "changed_at", "changed_by")
