"""The users' demo data (`manage.py seed_demo`): one admin and `--users` verified demo users."""

import uuid

from django.contrib.auth.hashers import make_password
from django.core.management.base import CommandParser

from apps.core import seeding

from .models import User

DEMO_PASSWORD = "demo-password-change-me"  # noqa: S105 - demo accounts only, printed for the newcomer
ADMIN_EMAIL = "admin@example.com"
DEMO_EMAIL_PREFIX = "demo-user-"


def demo_users(count: int) -> list[User]:
    """The first `count` demo users, oldest first: whose accounts the other apps' demo data belongs to."""
    return list(User.objects.filter(email__startswith=DEMO_EMAIL_PREFIX).order_by("id")[:count])


class UserSeeder:
    order = 10

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=10, help="demo users (besides the demo admin)")

    def seed(self, run: seeding.SeedRun) -> str:
        count = run.options["users"]
        have = User.objects.filter(email__startswith=DEMO_EMAIL_PREFIX).count()
        created: list[str] = []
        if not (run.reuse and have >= count and User.objects.filter(email=ADMIN_EMAIL).exists()):
            created = self._create(count, run)
            seeding.analyze([User])
        return f"{User.objects.count()} users ({self._sign_in_hint(created)})"

    @staticmethod
    def _sign_in_hint(created: list[str]) -> str:
        # Only accounts this run made have the demo password: existing ones (an admin from `make superuser`,
        # users of an earlier run) keep theirs.
        if not created:
            return "no account made: existing accounts keep their passwords"
        shown = " or ".join(created[:2])
        return f"sign in as {shown} with password {DEMO_PASSWORD!r}"

    def _create(self, count: int, run: seeding.SeedRun) -> list[str]:
        """Make the missing demo accounts; answers their emails, the admin's first."""
        password = make_password(DEMO_PASSWORD)  # hashed once: argon2 per user would take minutes
        created: list[str] = []
        if not User.objects.filter(email=ADMIN_EMAIL).exists():
            User.objects.create(
                email=ADMIN_EMAIL, full_name="Demo Admin", role="admin", is_verified=True, password=password
            )
            created.append(ADMIN_EMAIL)
        existing = set(User.objects.filter(email__startswith=DEMO_EMAIL_PREFIX).values_list("email", flat=True))
        new = [
            User(
                email=f"{DEMO_EMAIL_PREFIX}{n}@example.com",
                full_name=f"Demo User {n}",
                is_verified=True,
                password=password,
                account_id=uuid.UUID(int=run.rng.getrandbits(128)),
            )
            for n in range(count)
            if f"{DEMO_EMAIL_PREFIX}{n}@example.com" not in existing
        ]
        User.objects.bulk_create(new, batch_size=seeding.BATCH)
        return [*created, *(user.email for user in new)]


seeding.register(UserSeeder())
