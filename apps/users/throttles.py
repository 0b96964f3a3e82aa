"""Throttles for the credential endpoints that check no password: the password-reset request and OpenID Connect
sign-in. (Every password check goes through the login guard, apps/users/login_guard.py, which reads its rate and
clock from `LoginRateThrottle`.)

They count attempts with the `login` rate (`THROTTLE_RATE_LOGIN`), one counter per normalised email and one per
client address, in DRF's `initial()`. Each endpoint keeps its own counters (its view's `throttle_bucket`), so being
locked out of signing in does not also lock a user out of the password reset they now need.
"""

import hashlib
from collections.abc import Mapping

from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.http.throttling import FixedWindowRateThrottle
from apps.core.observability.context import request_client_ip

from .models import normalize_email


class LoginRateThrottle(FixedWindowRateThrottle):
    scope = "login"
    kind = ""

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        ident = self.get_attempt_ident(request)
        if not ident:
            return None
        bucket = getattr(view, "throttle_bucket", type(view).__name__.lower())
        return self.cache_format % {"scope": f"{self.scope}_{bucket}_{self.kind}", "ident": ident}

    def get_attempt_ident(self, request: Request) -> str | None:
        raise NotImplementedError


class LoginEmailRateThrottle(LoginRateThrottle):
    """Attempts for one email, whatever its case or surrounding spaces, from any address."""

    kind = "email"

    def get_attempt_ident(self, request: Request) -> str | None:
        data = request.data
        email = data.get("email") if isinstance(data, Mapping) else None
        if not isinstance(email, str) or not normalize_email(email):
            return None  # nothing to count against: the serializer answers 400 for it
        # Hashed: the key stays short and cache-safe, and no address is stored in the cache in clear.
        return hashlib.sha256(normalize_email(email).encode()).hexdigest()


class LoginAddressRateThrottle(LoginRateThrottle):
    """Attempts from one client address, for any email.

    The address is the request's client address (apps.core.observability.context), the one the audit trail
    records: X-Forwarded-For counts only from a peer in TRUSTED_PROXIES, so a client cannot pick a fresh address
    for every guess.
    """

    kind = "address"

    def get_attempt_ident(self, request: Request) -> str | None:
        return request_client_ip(request)
