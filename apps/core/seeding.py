"""Demo data, one part per app, run in order by `manage.py seed_demo`.

Each app that has demo data keeps it in its own `seed.py`, which registers a `DemoSeeder` here on import; the
command imports every installed app's `seed` module (as the admin finds each `admin.py`) and runs the seeders.
Core only orchestrates: it knows no app. The registry (`_seeders`) is filled at import, the same in every process.
"""

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from django.core.management.base import CommandParser
from django.db import connection
from django.db.models import Model
from django.utils.module_loading import autodiscover_modules

BATCH = 5_000  # rows per bulk insert


@dataclass(frozen=True)
class SeedRun:
    options: dict[str, Any]  # the command's parsed options, every seeder's arguments among them
    rng: random.Random  # one seeded generator for the whole run: the same options make the same data
    reuse: bool  # leave alone what is already there in the sizes asked


class DemoSeeder(Protocol):
    order: int  # lower runs first: the messages go to the accounts the users' seeder made

    def add_arguments(self, parser: CommandParser) -> None: ...

    def seed(self, run: SeedRun) -> str:
        """Make what is missing of the sizes asked; answers what is there now, for the command's summary."""
        ...


_seeders: list[DemoSeeder] = []


def register(seeder: DemoSeeder) -> DemoSeeder:
    _seeders.append(seeder)
    return seeder


def seeders() -> list[DemoSeeder]:
    autodiscover_modules("seed")
    return sorted(_seeders, key=lambda seeder: seeder.order)


def analyze(models: Iterable[type[Model]]) -> None:
    """On PostgreSQL, planner statistics and a visibility map for bulk-loaded tables now, rather than whenever
    autovacuum comes by: without them a product count was planned as a one-row index scan and took three times a
    sequential scan. VACUUM cannot run inside a transaction."""
    if connection.vendor != "postgresql":
        return
    tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM ANALYZE {tables}")
