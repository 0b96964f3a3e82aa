"""Failed sign-ins, counted once for every way in with a password: the API's login and the admin's login form.

Only failures count, so attempts made elsewhere never refuse a correct password by themselves. Within one window
of the `login` rate (`THROTTLE_RATE_LOGIN`, N per period):

- N failures for one email from one address: that client is guessing that account;
- N failures from one address, whatever the emails: that client is guessing many accounts;
- EMAIL_FAILURE_FACTOR times N failures for one email from anywhere: many clients guessing one account. This one does
  not hold back an address this account signed in from before (remembered KNOWN_ADDRESS_SECONDS), so a crowd of
  guessers can stop the guessing without locking the owner out.

Written here rather than taken from django-axes: axes would count the admin and, through its backend, the API,
but with its own lockout rules and storage; the two ways in sharing this one set of counters is the rule.
"""

import hashlib
from collections.abc import Callable, Mapping
from functools import wraps
from typing import Any

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.core.http.throttling import bump_counter
from apps.core.observability.context import request_client_ip

from .models import normalize_email
from .throttles import LoginRateThrottle

EMAIL_FAILURE_FACTOR = 10
KNOWN_ADDRESS_SECONDS = 30 * 24 * 60 * 60


def retry_after(*, email: str, address: str | None) -> int | None:
    """Seconds until this client may try a password for `email` again, or None if it may now."""
    limit, _duration, window, wait = _window()
    keys = _keys(email, address, window)
    counts = cache.get_many(list(keys.values()))
    if counts.get(keys["pair"], 0) >= limit or counts.get(keys["address"], 0) >= limit:
        return wait
    if counts.get(keys["email"], 0) >= limit * EMAIL_FAILURE_FACTOR and not cache.get(_known_key(email, address)):
        return wait
    return None


def record_failure(*, email: str, address: str | None) -> None:
    _limit, duration, window, _wait = _window()
    for key in _keys(email, address, window).values():
        bump_counter(cache, key, duration + 1)


def record_success(*, email: str, address: str | None) -> None:
    """The owner is in: their address is remembered for the account, and its earlier typos are forgotten."""
    _limit, _duration, window, _wait = _window()
    cache.set(_known_key(email, address), 1, KNOWN_ADDRESS_SECONDS)
    cache.delete(_keys(email, address, window)["pair"])


def _window() -> tuple[int, int, int, int]:
    """The `login` rate (failures, seconds), the current window's start, and the seconds left in it."""
    rate = LoginRateThrottle()  # DRF's copy of the rates and its clock, as every throttle reads them
    duration = rate.duration or 60
    now = int(rate.timer())
    start = now - now % duration
    return rate.num_requests or 0, duration, start, max(start + duration - now, 1)


def _keys(email: str, address: str | None, window: int) -> dict[str, str]:
    account, client = _hashed(email), address or "unknown"
    return {
        "pair": f"login_failures:pair:{account}:{client}:{window}",
        "address": f"login_failures:address:{client}:{window}",
        "email": f"login_failures:email:{account}:{window}",
    }


def _known_key(email: str, address: str | None) -> str:
    return f"login_known:{_hashed(email)}:{address or 'unknown'}"


def _hashed(email: str) -> str:
    # Short, cache-safe, and no address stored in the cache in clear.
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()


class LoginFailureThrottle(BaseThrottle):
    """The API login's face of the guard: refuses (429) before the password is looked at, counts nothing itself."""

    def allow_request(self, request: Request, view: APIView) -> bool:
        data = request.data
        email = data.get("email") if isinstance(data, Mapping) else None
        if not isinstance(email, str) or not normalize_email(email):
            return True  # nothing to count against: the serializer answers 400 for it
        self.wait_seconds = retry_after(email=email, address=request_client_ip(request))
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return getattr(self, "wait_seconds", None)


def refuse_admin_login_after_failures(login: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Wrap the admin site's login view: a POST from a client over the guard's limits is a 429, its password
    unchecked. The form's failures and successes reach the counters through the signals below."""

    @wraps(login)
    def guarded(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "POST":
            wait = retry_after(email=str(request.POST.get("username", "")), address=request_client_ip(request))
            if wait is not None:
                response = HttpResponse(
                    f"Too many failed sign-ins. Try again in {wait} seconds.",
                    status=429,
                    content_type="text/plain; charset=utf-8",
                )
                response["Retry-After"] = str(wait)
                return response
        return login(request, extra_context)

    return guarded


@receiver(user_login_failed, dispatch_uid="users.count_failed_sign_in")
def _count_failed_sign_in(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **_: Any
) -> None:
    # Django's authenticate() sends this for the API (`email=`) and the admin's form (`username=`) alike.
    email = credentials.get("email") or credentials.get("username")
    if isinstance(email, str) and normalize_email(email):
        record_failure(email=email, address=request_client_ip(request) if request is not None else None)


@receiver(user_logged_in, dispatch_uid="users.remember_signed_in_address")
def _remember_session_sign_in(sender: Any, request: HttpRequest | None, user: Any, **_: Any) -> None:
    # A session sign-in (the admin); the API's token sign-in calls record_success itself.
    if request is not None:
        record_success(email=user.email, address=request_client_ip(request))
