"""Dependency checks for /health/ and /health/ready/. Each has a short timeout: a dead dependency must not hang."""

import os
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from kombu import Connection

OK, DOWN, DEGRADED = "ok", "down", "degraded"
_migrations_applied = False


def _timed(check: Callable[[], dict[str, Any] | None]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        extra = check() or {}
        result: dict[str, Any] = {"status": OK, **extra}
    except Exception as exc:  # any failure of a dependency is reported, never raised
        result = {"status": DOWN, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    return result


def check_database() -> dict[str, Any]:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(probe)


def check_cache() -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        if settings.REDIS_URL:
            from django_redis import get_redis_connection

            get_redis_connection("default").ping()
            return {"backend": "redis"}
        cache.set("health:probe", 1, 5)
        if cache.get("health:probe") != 1:
            raise RuntimeError("cache did not return what was stored")
        return {"backend": "locmem"}

    return _timed(probe)


def check_broker() -> dict[str, Any]:
    def probe() -> dict[str, Any]:
        if settings.CELERY_BROKER_URL.startswith("memory://"):
            return {"backend": "in-process"}
        timeout = settings.CELERY_BROKER_CONNECTION_TIMEOUT
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        return {"backend": conn.transport.driver_name}

    return _timed(probe)


def service_health() -> tuple[str, dict[str, dict[str, Any]]]:
    checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    if checks["database"]["status"] != OK:
        overall = DOWN
    elif any(check["status"] != OK for check in checks.values()):
        overall = DEGRADED
    else:
        overall = OK
    return overall, checks


def draining() -> bool:
    """True once this gunicorn instance got SIGTERM and drains before stopping (config/gunicorn.py)."""
    return bool(settings.GUNICORN_DRAIN_FILE) and os.path.exists(settings.GUNICORN_DRAIN_FILE)


def migrations_applied() -> bool:
    """True when no migration is pending. Once true it stays true for this process (the code cannot change)."""
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrations_applied
