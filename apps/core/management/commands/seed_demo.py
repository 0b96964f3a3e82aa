"""Demo data for a newcomer and for the benchmarks: each app's part comes from its `seed.py` (apps.core.seeding).

`manage.py seed_demo` makes a small set; the benchmark asks for 10,000 products and 1,000,000 messages.
"""

import argparse
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandParser, DjangoHelpFormatter

from apps.core import seeding


class HelpWithDefaults(DjangoHelpFormatter, argparse.ArgumentDefaultsHelpFormatter):
    """`--help` shows each option's default."""


class Command(BaseCommand):
    help = "Fill the database with demo users, categories, products and messages."

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        return super().create_parser(prog_name, subcommand, formatter_class=HelpWithDefaults, **kwargs)

    def add_arguments(self, parser: CommandParser) -> None:
        for seeder in seeding.seeders():
            seeder.add_arguments(parser)
        parser.add_argument("--reuse", action="store_true", help="leave alone the data already there in these sizes")
        parser.add_argument("--seed", type=int, default=42, help="random seed, for repeatable data")

    def handle(self, *args: Any, **options: Any) -> None:
        run = seeding.SeedRun(
            options=options,
            rng=random.Random(options["seed"]),  # noqa: S311 - demo data, not secrets
            reuse=options["reuse"],
        )
        made = [seeder.seed(run) for seeder in seeding.seeders()]
        self.stdout.write(self.style.SUCCESS(f"seed_demo: {'; '.join(made)}."))
