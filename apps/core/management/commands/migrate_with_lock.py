"""`migrate --noinput` that any number of processes may start at once: on PostgreSQL each waits for a session
advisory lock, so one migrates and the others then find nothing left to do.

The lock is taken on the `direct` database (DATABASE_DIRECT_URL) when it is configured: PgBouncer in transaction
mode would hand the session's lock to whichever client used that server connection next.
"""

import hashlib
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections

# The same 64-bit key in every process; advisory locks are scoped to the database, so other databases don't clash.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"drm:migrate_with_lock").digest()[:8], "big", signed=True)


class Command(BaseCommand):
    help = "Apply migrations under a PostgreSQL advisory lock (safe when several start it at once)."
    requires_system_checks: list[str] = []  # `migrate` runs them, on the database it migrates

    def handle(self, *args: Any, **options: Any) -> None:
        alias = "direct" if "direct" in connections else DEFAULT_DB_ALIAS
        connection = connections[alias]
        verbosity = options["verbosity"]
        if connection.vendor != "postgresql":
            call_command("migrate", database=alias, interactive=False, verbosity=verbosity)
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY])
            if not cursor.fetchone()[0]:
                self.stdout.write("Another process is migrating; waiting for it.")
                cursor.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        try:
            call_command("migrate", database=alias, interactive=False, verbosity=verbosity)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
