"""Liveness of this host's Celery beat: exit 0 when its heartbeat is fresh, whether it holds the lease or waits."""

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.core.background.beat import HOLDER, WAITING, read_heartbeat


class Command(BaseCommand):
    help = "Exit 0 when this host's beat holds or waits for the beat lease and its heartbeat is fresh."
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        heartbeat = read_heartbeat()
        if heartbeat is None or heartbeat.get("state") not in {HOLDER, WAITING}:
            raise CommandError(f"no beat heartbeat in {settings.BEAT_HEARTBEAT_FILE}")
        age = time.time() - float(heartbeat["time"])
        if age > settings.BEAT_LEASE_SECONDS:
            raise CommandError(f"beat heartbeat is {age:.0f}s old (more than BEAT_LEASE_SECONDS)")
        self.stdout.write(f"beat {heartbeat['state']}, heartbeat {age:.1f}s ago")
