"""A circuit breaker per SMS gateway, shared by every process through the cache (Redis in a deployment).

Written here rather than with pybreaker: its `call` holds one lock per process across the guarded call, which
would send a batch's concurrent sends one at a time, and it counts consecutive failures rather than a window.

Closed: each retryable failure is counted in a window of SMS_BACKEND_FAILURE_WINDOW_SECONDS; at
SMS_BACKEND_FAILURE_THRESHOLD the gateway opens for SMS_BACKEND_COOLDOWN_SECONDS and is skipped. Then half-open:
one send (`cache.add` picks it among every process) probes it; its success closes the breaker, its failure opens it
for another cool-down. A cache outage leaves every gateway available (reads miss).
"""

import time

from django.conf import settings
from django.core.cache import cache


def _key(name: str, part: str) -> str:
    return f"messages:gateway-breaker:{name}:{part}"


def _probe_seconds() -> float:
    # Longer than one send may take: a probe whose process died lets the next one through after this.
    return settings.SMS_GATEWAY_TIMEOUT * 2 + 1


def is_available(name: str) -> bool:
    """Whether a send may go to gateway `name` now: closed, or half-open and this caller is the probe."""
    open_until = cache.get(_key(name, "open-until"))
    if open_until is None:
        return True
    if time.time() < open_until:
        return False
    return bool(cache.add(_key(name, "probe"), 1, timeout=_probe_seconds()))


def is_open(name: str) -> bool:
    """Whether `name` was tripped and has not closed again (open or half-open)."""
    return cache.get(_key(name, "open-until")) is not None


def record_failure(name: str) -> None:
    """A send to `name` failed for a reason another gateway may not have (unreachable, 5xx)."""
    if is_open(name):  # the half-open probe failed: another cool-down
        _open(name)
        return
    failures = _key(name, "failures")
    cache.add(failures, 0, timeout=settings.SMS_BACKEND_FAILURE_WINDOW_SECONDS)
    try:
        count = cache.incr(failures)
    except ValueError:  # the window ended between the two calls
        count = 1
        cache.add(failures, 1, timeout=settings.SMS_BACKEND_FAILURE_WINDOW_SECONDS)
    if count is not None and count >= settings.SMS_BACKEND_FAILURE_THRESHOLD:
        _open(name)


def record_success(name: str) -> None:
    """A send to `name` went through: a half-open breaker closes."""
    if is_open(name):
        cache.delete_many([_key(name, "open-until"), _key(name, "probe"), _key(name, "failures")])


def _open(name: str) -> None:
    cache.set(_key(name, "open-until"), time.time() + settings.SMS_BACKEND_COOLDOWN_SECONDS, timeout=None)
    cache.delete_many([_key(name, "probe"), _key(name, "failures")])
