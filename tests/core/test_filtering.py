"""A filter set made from ReusedFormFilterSet builds its form class once, and still validates every request alone."""

from django.http import QueryDict

from apps.messages.filters import MessageSearchFilter
from apps.products.filters import ProductFilter
from apps.products.models import Product


def test_the_form_class_is_built_once_per_filter_set() -> None:
    first = ProductFilter(QueryDict("min_price=1"), queryset=Product.objects.none())
    second = ProductFilter(QueryDict("max_price=2"), queryset=Product.objects.none())
    assert first.get_form_class() is second.get_form_class()
    assert first.get_form_class() is not MessageSearchFilter(QueryDict("")).get_form_class()


def test_each_request_is_validated_on_its_own() -> None:
    bad = ProductFilter(QueryDict("min_price=abc&is_available=maybe"), queryset=Product.objects.none())
    good = ProductFilter(QueryDict("min_price=3&is_available=true"), queryset=Product.objects.none())

    assert not bad.is_valid()
    assert set(bad.errors) == {"min_price", "is_available"}
    assert good.is_valid()
    assert good.form.cleaned_data["min_price"] == 3
    assert good.form.fields is not bad.form.fields
