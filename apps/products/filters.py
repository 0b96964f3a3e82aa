"""The product list's query parameters (docs/api.md "Catalog"). An empty parameter counts as absent; a malformed one
is a 400 naming it."""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.db.models import Q, QuerySet, Subquery
from django.http import QueryDict
from django_filters import rest_framework as filters
from django_filters.constants import EMPTY_VALUES
from django_filters.fields import BaseCSVField
from django_filters.widgets import BaseCSVWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from apps.core.http.filtering import ReusedFormFilterSet

from .models import Category, Product

ORDERING_FIELDS = ("name", "price", "created_at")


class RepeatedOrCommaListWidget(BaseCSVWidget):
    """Reads `?ordering=name&ordering=-price` (how generated clients send an array) like the comma list
    `?ordering=name,-price`; django-filter's CSV widget would keep only the last of repeated values. An empty key
    (`?ordering=price,`, `?ordering=,`) is skipped, as an empty parameter counts as absent."""

    def value_from_datadict(self, data: Mapping[str, Any], files: Any, name: str) -> list[str] | None:
        values = data.getlist(name) if isinstance(data, QueryDict) else [data.get(name)]
        keys = [key for value in values if value for key in value.split(",") if key]
        return keys or None


class RepeatedOrCommaListField(BaseCSVField):
    base_widget_class = RepeatedOrCommaListWidget


class StableOrderingFilter(filters.OrderingFilter):
    """`ordering=price` etc., with the id as the last key in the same direction, so equal values keep a stable
    page order (and one index serves both directions)."""

    base_field_class = RepeatedOrCommaListField

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # A text box in the browsable API's filters dialog: a select offers one key, and a multiple select sends its
        # keys in the list's order, not the order a person means.
        kwargs.setdefault("widget", forms.TextInput)
        super().__init__(*args, **kwargs)

    def filter(self, qs: QuerySet[Product], value: list[str]) -> QuerySet[Product]:
        if value in EMPTY_VALUES:
            return qs
        ordering = [self.get_ordering_value(param) for param in value]
        tiebreaker = "-id" if ordering[-1].startswith("-") else "id"
        return qs.order_by(*ordering, tiebreaker)


class ProductFilter(ReusedFormFilterSet):
    search = filters.CharFilter(
        method="filter_search", help_text="Case-insensitive substring of the name, description or sku."
    )
    category = filters.CharFilter(method="filter_category", help_text="A category slug.")
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte", help_text="Price at least this.")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte", help_text="Price at most this.")
    # A choice, not django-filter's BooleanFilter: that one quietly ignores `maybe` instead of rejecting it. The
    # schema still says boolean, so that generated clients send `true` / `false`.
    is_available = extend_schema_field(OpenApiTypes.BOOL)(filters.ChoiceFilter)(
        choices=[("true", "true"), ("false", "false")],
        method="filter_is_available",
        help_text="`true` or `false`.",
    )
    ordering = StableOrderingFilter(
        fields=ORDERING_FIELDS,
        help_text="One or more keys, comma-separated and applied in turn (`price,-created_at`): `name`, `price` or "
        "`created_at`, each also with `-` for descending; default `-created_at`.",
    )

    class Meta:
        model = Product
        fields: tuple[str, ...] = ()

    def filter_search(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.filter(Q(name__icontains=value) | Q(description__icontains=value) | Q(sku__icontains=value))

    def filter_category(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        # `category_id = (SELECT id ... WHERE slug = ...)`, not a join on the slug: PostgreSQL then reads one range
        # of the (category_id, created_at) index, already in page order, instead of sorting the join's rows.
        category_id = Category.objects.filter(slug=value).values("id")[:1]
        return queryset.filter(category_id=Subquery(category_id))

    def filter_is_available(self, queryset: QuerySet[Product], name: str, value: str) -> QuerySet[Product]:
        return queryset.filter(is_available=value == "true")
