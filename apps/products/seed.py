"""The catalog's demo data (`manage.py seed_demo`): `--categories` categories and `--products` products."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import CommandParser
from django.db import transaction
from django.utils import timezone

from apps.core import seeding

from . import cache
from .models import Category, Product


class CatalogSeeder:
    order = 20

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--categories", type=int, default=5, help="catalog categories")
        parser.add_argument("--products", type=int, default=100, help="products, spread over the categories")

    def seed(self, run: seeding.SeedRun) -> str:
        categories, products = run.options["categories"], run.options["products"]
        if not (run.reuse and Category.objects.count() >= categories and Product.objects.count() >= products):
            self._create(categories, products, run)
            seeding.analyze([Category, Product])
        return f"{Category.objects.count()} categories, {Product.objects.count()} products"

    def _create(self, categories: int, products: int, run: seeding.SeedRun) -> None:
        for n in range(categories):
            Category.objects.get_or_create(slug=f"category-{n}", defaults={"name": f"Category {n}"})
        category_ids = list(Category.objects.order_by("id").values_list("id", flat=True)[:categories])
        have = Product.all_objects.count()  # soft-deleted ones too: their SKUs are taken
        now = timezone.now()
        rows = [
            Product(
                sku=f"DEMO-{n:07d}",
                name=f"Demo product {n}",
                description=f"A demo product number {n} for the catalog.",
                category_id=category_ids[n % len(category_ids)],
                price=Decimal(run.rng.randint(100, 100_000)) / 100,
                stock=run.rng.randint(0, 500),
                is_available=run.rng.random() > 0.1,  # noqa: PLR2004 - one demo product in ten unavailable
                created_at=now - timedelta(minutes=products - n),
            )
            for n in range(have, products)
        ]
        with transaction.atomic():
            Product.objects.bulk_create(rows, batch_size=seeding.BATCH)
        cache.invalidate()  # bulk_create skips the services that invalidate cached catalog reads


seeding.register(CatalogSeeder())
