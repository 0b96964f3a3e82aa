from decimal import Decimal

import factory

from apps.products.models import Category, PriceChange, Product
from tests.helpers.factories import ModelFactory


class CategoryFactory(ModelFactory[Category]):
    class Meta:
        model = Category

    slug = factory.Sequence(lambda n: f"category-{n}")
    name = factory.Sequence(lambda n: f"Category {n}")


class ProductFactory(ModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = factory.Faker("sentence")
    category = factory.SubFactory(CategoryFactory)
    price = Decimal("19.99")
    currency = "USD"
    stock = 10
    is_available = True


class PriceChangeFactory(ModelFactory[PriceChange]):
    class Meta:
        model = PriceChange

    product = factory.SubFactory(ProductFactory)
    old_price = Decimal("10.00")
    new_price = Decimal("12.00")
