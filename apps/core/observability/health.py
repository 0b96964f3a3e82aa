"""Dependency checks for /health/ and /health/ready/. Each has a short timeout: a dead dependency must not hang.

A failed check's reason (`error`: hosts, ports, exception text) is logged when a check goes down or its reason
changes, and kept in the result for the views to show only to the metrics audience.

Process-local state: the broker check keeps one connection per process (opened again after a failure or a fork)
and its last result for BROKER_RESULT_SECONDS, so balancers probing every second open no connection per call;
every process of the fleet checks the broker for itself, at most once a second. Whether every migration is
applied (`_migrations_applied`) is remembered once true (the code of a process cannot change under it), and the
last reason each check gave (`_last_errors`) so a reason is logged when it changes, not on every probe.
"""

import contextlib
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from kombu import Connection

logger = logging.getLogger(__name__)

OK, DOWN, DEGRADED = "ok", "down", "degraded"
PUBLIC_FIELDS = ("status", "latency_ms")
BROKER_RESULT_SECONDS = 1.0
_migrations_applied = False
_last_errors: dict[str, str] = {}


def _timed(check: Callable[[], dict[str, Any] | None], *, name: str) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        extra = check() or {}
        result: dict[str, Any] = {"status": OK, **extra}
    except Exception as exc:  # any failure of a dependency is reported, never raised  # noqa: BLE001 - any failure of a dependency is reported as down
        result = {"status": DOWN, "error": f"{type(exc).__name__}: {exc}"[:300]}
    result["latency_ms"] = round((time.perf_counter() - started) * 1000, 2)
    _log_change(name, result.get("error", ""))
    return result


def _log_change(name: str, error: str) -> None:
    # Probes call every second: one line when a check goes down, changes its reason or comes back, not one per call.
    if _last_errors.get(name, "") == error:
        return
    _last_errors[name] = error
    if error:
        logger.warning("Health check %s is down: %s", name, error)
    else:
        logger.info("Health check %s is ok again", name)


def public_result(result: dict[str, Any]) -> dict[str, Any]:
    """What anyone may see of a check: whether it is up, not why it is not."""
    return {field: result[field] for field in PUBLIC_FIELDS if field in result}


def check_database() -> dict[str, Any]:
    def probe() -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()

    return _timed(probe, name="database")


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

    return _timed(probe, name="cache")


class _BrokerProbe:
    """One broker connection per process, reused by every check, and the last result for a second."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.connection: Connection | None = None
        self.pid = 0
        self.result: dict[str, Any] | None = None
        self.checked_at = 0.0

    def check(self) -> dict[str, Any]:
        with self.lock:  # concurrent probes wait for one check and share its answer
            if self.result is None or time.monotonic() - self.checked_at >= BROKER_RESULT_SECONDS:
                self.result = _timed(self._probe, name="broker")
                self.checked_at = time.monotonic()
            return dict(self.result)

    def _probe(self) -> dict[str, Any]:
        if settings.CELERY_BROKER_URL.startswith("memory://"):
            return {"backend": "in-process"}
        try:
            return self._round_trip()
        except Exception:  # noqa: BLE001 - any failure of a dependency is reported as down
            self._drop()
            return self._round_trip()  # a connection the broker closed since: one fresh try

    def _round_trip(self) -> dict[str, Any]:
        timeout = settings.CELERY_BROKER_CONNECTION_TIMEOUT
        if self.connection is None or self.pid != os.getpid():  # a forked child must not share its parent's socket
            self.connection = Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout)
            self.pid = os.getpid()
        self.connection.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=timeout)
        # A round trip: a connection that only looks open fails here. kombu-stubs omit close(); every channel has it.
        self.connection.channel().close()  # type: ignore[attr-defined]
        return {"backend": self.connection.transport.driver_name}

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            with contextlib.suppress(Exception):  # already broken: nothing to give back
                connection.release()


_broker = _BrokerProbe()


def check_broker() -> dict[str, Any]:
    return _broker.check()


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
    global _migrations_applied  # noqa: PLW0603 - process-local state, see the opening comment
    if not _migrations_applied:
        executor = MigrationExecutor(connection)
        _migrations_applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
    return _migrations_applied
