"""Rate limits as fixed-window counters in the cache (Redis once configured, so every worker shares them).

Written here because DRF's SimpleRateThrottle keeps the timestamp of every request in the window as one cached
list and rewrites it on each request: O(rate) work per request and lost updates between processes. A counter
bumped atomically (apps.core.cache.counters) is one round trip and exact. When the cache is down the limit fails open
(the request passes, the outage is logged), so an outage never turns into 429s or 500s.
"""

from typing import TYPE_CHECKING

from rest_framework import throttling

from apps.core.cache import batch as cache_batch
from apps.core.cache.counters import bump_counter
from apps.core.observability.context import request_client_ip

if TYPE_CHECKING:  # rest_framework.views imports the throttle classes while it loads
    from rest_framework.request import Request
    from rest_framework.views import APIView


class FixedWindowRateThrottle(throttling.SimpleRateThrottle):
    """At most `num_requests` per `duration`-second window; `Retry-After` is the time left in the window."""

    # Set by SimpleRateThrottle.__init__ from the rate (its stubs do not declare them).
    num_requests: int
    duration: int
    wait_seconds: int

    def allow_request(self, request: "Request", view: "APIView") -> bool:
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        window_key = self._window_key(self.key)
        count = cache_batch.take_count(request, window_key)  # bumped already, with the request's other reads
        if count is None:
            count = bump_counter(self.cache, window_key, self.duration + 1)
        return count is None or count <= self.num_requests

    def _window_key(self, key: str) -> str:
        now = int(self.timer())
        window_start = now - now % self.duration
        self.wait_seconds = window_start + self.duration - now
        return f"{key}:{window_start}"

    def counter_for_user(self, user_pk: int) -> tuple[str, int] | None:
        """The counter (key and lifetime) this throttle bumps for a request signed in as `user_pk`, for a view
        that batches its cache reads before authenticating; None when it keeps none for a signed-in user."""
        return None

    def wait(self) -> float | None:
        return max(getattr(self, "wait_seconds", self.duration), 1)

    def get_ident(self, request: "Request") -> str:
        # The one address of the request (TRUSTED_PROXIES applied once), not DRF's own reading of X-Forwarded-For.
        return request_client_ip(request) or ""


class AnonRateThrottle(FixedWindowRateThrottle, throttling.AnonRateThrottle):
    """Anonymous requests, per client address (`THROTTLE_RATE_ANON`)."""


class UserRateThrottle(FixedWindowRateThrottle, throttling.UserRateThrottle):
    """Authenticated requests, per user (`THROTTLE_RATE_USER`).

    An anonymous request is AnonRateThrottle's alone. DRF's own class also counts it, per address, against the
    user rate: a second counter for the same address under a looser limit, and a second round trip to the cache
    on every anonymous request (a throttled sign-in made three, now two)."""

    def get_cache_key(self, request: "Request", view: "APIView") -> str | None:
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)

    def counter_for_user(self, user_pk: int) -> tuple[str, int] | None:
        if self.rate is None:
            return None
        return self._window_key(self.cache_format % {"scope": self.scope, "ident": user_pk}), self.duration + 1
