"""Demo data for a newcomer and for the benchmarks: categories, products, users and messages.

`manage.py seed_demo` makes a small set; the benchmark asks for 10,000 products and 1,000,000 messages. Messages
go in with PostgreSQL's COPY (bulk_create elsewhere), since a million ORM inserts would take many minutes.
"""

import random
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.utils import timezone

from apps.core.keygen import new_key
from apps.messages.counts import forget_account_counts
from apps.messages.models import Message
from apps.products.models import Category, Product

DEMO_PASSWORD = "demo-password-change-me"  # noqa: S105 - demo accounts only, printed for the newcomer
BATCH = 5_000


class Command(BaseCommand):
    help = "Fill the database with demo categories, products, users and messages."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--categories", type=int, default=5)
        parser.add_argument("--products", type=int, default=100)
        parser.add_argument("--users", type=int, default=10)
        parser.add_argument("--messages", type=int, default=500)
        parser.add_argument("--heavy-accounts", type=int, default=1, help="accounts that get --heavy-messages each")
        parser.add_argument("--heavy-messages", type=int, default=200)
        parser.add_argument("--reuse", action="store_true", help="do nothing when the data is already there")
        parser.add_argument("--seed", type=int, default=42, help="random seed, for repeatable data")

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random(options["seed"])  # noqa: S311 - demo data, not secrets
        if options["reuse"] and self._already_seeded(options):
            self.stdout.write("seed_demo: data of these sizes is already there; reusing it")
            return
        users = self._users(options["users"], rng)
        self._catalog(options["categories"], options["products"], rng)
        self._messages(users, options["messages"], options["heavy_accounts"], options["heavy_messages"], rng)
        if connection.vendor == "postgresql":
            # Planner statistics for the bulk-loaded tables now rather than whenever autovacuum comes by: without
            # them a product count was planned as a one-row index scan and took three times a sequential scan.
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in (Category, Product))
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {tables}, {connection.ops.quote_name(get_user_model()._meta.db_table)}")
        self.stdout.write(
            self.style.SUCCESS(
                f"seed_demo: {Category.objects.count()} categories, {Product.objects.count()} products, "
                f"{get_user_model().objects.count()} users, {Message.objects.count()} messages. "
                f"Sign in as admin@example.com or demo-user-0@example.com with password {DEMO_PASSWORD!r}."
            )
        )

    def _already_seeded(self, options: dict[str, Any]) -> bool:
        return (
            Category.objects.count() >= options["categories"]
            and Product.objects.count() >= options["products"]
            and get_user_model().objects.count() >= options["users"]
            and Message.objects.count() >= options["messages"]
        )

    def _users(self, count: int, rng: random.Random) -> list[Any]:
        User = get_user_model()
        password = make_password(DEMO_PASSWORD)  # hashed once: argon2 per user would take minutes
        if not User.objects.filter(email="admin@example.com").exists():
            User.objects.create(
                email="admin@example.com", full_name="Demo Admin", role="admin", is_verified=True, password=password
            )
        existing = set(User.objects.filter(email__startswith="demo-user-").values_list("email", flat=True))
        new = [
            User(
                email=f"demo-user-{n}@example.com",
                full_name=f"Demo User {n}",
                is_verified=True,
                password=password,
                account_id=uuid.UUID(int=rng.getrandbits(128)),
            )
            for n in range(count)
            if f"demo-user-{n}@example.com" not in existing
        ]
        User.objects.bulk_create(new, batch_size=BATCH)
        return list(User.objects.filter(email__startswith="demo-user-").order_by("id")[:count])

    def _catalog(self, categories: int, products: int, rng: random.Random) -> None:
        for n in range(categories):
            Category.objects.get_or_create(slug=f"category-{n}", defaults={"name": f"Category {n}"})
        category_ids = list(Category.objects.order_by("id").values_list("id", flat=True)[:categories])
        have = Product.all_objects.count() if hasattr(Product, "all_objects") else Product.objects.count()
        now = timezone.now()
        rows = [
            Product(
                sku=f"DEMO-{n:07d}",
                name=f"Demo product {n}",
                description=f"A demo product number {n} for the catalog.",
                category_id=category_ids[n % len(category_ids)],
                price=Decimal(rng.randint(100, 100_000)) / 100,
                stock=rng.randint(0, 500),
                is_available=rng.random() > 0.1,
                created_at=now - timedelta(minutes=products - n),
            )
            for n in range(have, products)
        ]
        with transaction.atomic():
            Product.objects.bulk_create(rows, batch_size=BATCH)
        _invalidate_catalog()

    def _messages(self, users: list[Any], total: int, heavy_accounts: int, heavy_each: int, rng: random.Random) -> None:
        missing = total - Message.objects.count()
        if missing <= 0 or not users:
            return
        heavy = users[:heavy_accounts]
        light = users[heavy_accounts:] or users
        plan = [(user, heavy_each) for user in heavy]
        rest = max(0, missing - heavy_each * len(heavy))
        plan += [
            (light[n % len(light)], rest // len(light) + (1 if n < rest % len(light) else 0)) for n in range(len(light))
        ]
        start = timezone.now() - timedelta(days=30)
        step = timedelta(days=30) / max(missing, 1)
        fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
        produced = 0

        def rows() -> Iterator[list[Any]]:
            nonlocal produced
            for user, count in plan:
                senders = [f"+1555{rng.randint(1_000_000, 9_999_999)}" for _ in range(10)]
                for _ in range(count):
                    if produced >= missing:
                        return
                    created = start + step * produced
                    values = {
                        "message_id": new_key(),
                        "account_id": user.account_id,
                        "sender_number": rng.choice(senders),
                        "receiver_number": f"+4477{rng.randint(10_000_000, 99_999_999)}",
                        "body": f"Demo message {produced}",
                        "status": "sent",
                        "attempts": 1,
                        "provider_message_id": f"demo-{produced}",
                        "created_at": created,
                        "sent_at": created + timedelta(seconds=1),
                    }
                    produced += 1
                    yield [values[f.attname] if f.attname in values else f.get_default() for f in fields]

        if connection.vendor == "postgresql":
            columns = ", ".join(connection.ops.quote_name(f.column) for f in fields if f.column)  # all have one
            table = connection.ops.quote_name(Message._meta.db_table)
            copy_sql = f"COPY {table} ({columns}) FROM STDIN"
            with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
                for row in rows():
                    copy.write_row(row)
            # Statistics for the planner and a visibility map for index-only counts, right away rather than
            # whenever autovacuum comes by (VACUUM cannot run inside a transaction).
            with connection.cursor() as cursor:
                cursor.execute(f"VACUUM ANALYZE {table}")
            # COPY bypasses the model layer (bulk_create below makes the counts stale itself).
            forget_account_counts({user.account_id for user, _ in plan})
        else:
            batch: list[Message] = []
            for row in rows():
                batch.append(Message(**{f.attname: value for f, value in zip(fields, row, strict=True)}))
                if len(batch) == BATCH:
                    Message.objects.bulk_create(batch)
                    batch = []
            Message.objects.bulk_create(batch)


def _invalidate_catalog() -> None:
    try:
        from apps.products import cache as catalog_cache
    except ImportError:
        return
    invalidate = getattr(catalog_cache, "invalidate", None) or getattr(catalog_cache, "bump_version", None)
    if invalidate:
        invalidate()
