"""One guard for every door that checks a password: the API's login, the admin's and the browsable API's login forms
(through `GuardedModelBackend`, so every `authenticate()` call) and the password changes (`check_password`). The
doors that check an emailed link's token (email verification and password reset, API and pages: `reserve_link`)
keep counters of their own under the same rules, the link's account standing for the email: a locked sign-in must
not also lock its owner out of the reset link they now need.

Only failures count, so attempts made elsewhere never refuse a correct password by themselves. Within one window
of the `login` rate (`THROTTLE_RATE_LOGIN`, N per period):

- N failures for one email from one address: that client is guessing that account;
- N failures from one address, whatever the emails: that client is guessing many accounts;
- EMAIL_FAILURE_FACTOR times N failures for one email from anywhere: many clients guessing one account. This one does
  not hold back an address this account signed in from before (remembered KNOWN_ADDRESS_SECONDS), so a crowd of
  guessers can stop the guessing without locking the owner out.

A limit is reserved, then checked: each attempt first takes its place in every counter (the cache's atomic
increment), is refused if a place is past the limit (its places given back, so a refused attempt counts for
nothing), and only then is its password checked; a right password gives its places back. On Redis one script
takes the places or refuses them, in one round trip. However many attempts race on however many processes, at
most N wrong passwords are checked per counter and window. Reading the counts first and counting the failure
after the check let every attempt in flight through (14 checks for a limit of 10).

Written here rather than taken from django-axes: axes counts failures after the check (the race above) with its
own lockout rules and storage; every door sharing this one set of counters is the rule.
"""

import hashlib
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from rest_framework.exceptions import Throttled

from apps.core.cache.counters import bump_counter, redis_client
from apps.core.observability.context import client_ip, request_client_ip

from .models import User, normalize_email
from .throttles import LoginRateThrottle
from .tokens import decode_uid

logger = logging.getLogger(__name__)

EMAIL_FAILURE_FACTOR = 10
LOGIN_DOOR = "login"  # the counters' key prefix: every password check
LINK_DOOR = "link"  # every check of an emailed link's token
KNOWN_ADDRESS_SECONDS = 30 * 24 * 60 * 60


class SignInThrottled(Throttled):
    """Too many failed password checks: a 429 with `Retry-After`, the password unchecked."""

    wait: float | None  # set by Throttled.__init__ (its stubs do not declare it)


@dataclass(frozen=True)
class PasswordAttempt:
    """The places one password check holds in the failure counters; kept when the password is wrong."""

    email: str
    address: str | None
    places: tuple[str, ...]
    pair_key: str
    door: str = LOGIN_DOOR

    def succeeded(self) -> None:
        """The password was right: its places are given back, the address is remembered for the account, and the
        earlier failures for this email from this address are forgotten."""
        _give_back(self.places)
        cache.set(_known_key(self.email, self.address, self.door), 1, KNOWN_ADDRESS_SECONDS)
        cache.delete(self.pair_key)


def reserve(*, email: str, address: str | None, door: str = LOGIN_DOOR) -> PasswordAttempt:
    """Take a place for one password check of `email` from `address`; `SignInThrottled` when it is over a limit.

    Call it right before the check, and `succeeded()` on the attempt when the password was right."""
    limit, duration, window, wait = _window()
    keys = _keys(email, address, window, door)
    known = _known_key(email, address, door)
    client = redis_client(cache)
    if client is None:
        taken = _take_places(keys, known=known, limit=limit, duration=duration)
    else:
        taken = _take_places_on_redis(client, keys, known=known, limit=limit, duration=duration)
    if taken is None:
        raise SignInThrottled(wait=wait)
    return PasswordAttempt(email=email, address=address, places=taken, pair_key=keys["pair"], door=door)


def reserve_link(*, uid: str, address: str | None) -> PasswordAttempt:
    """Take a place for one check of an emailed link's token (`uid` names its account) from `address`, under the
    login rate in counters of the link doors' own; `SignInThrottled` when it is over a limit.

    Call it right before the check, and `succeeded()` when the token was right. Every spelling of one `uid` counts
    as that account, and a `uid` that names no account as one account of its own."""
    pk = decode_uid(uid)
    return reserve(email=f"user:{pk if pk is not None else '-'}", address=address, door=LINK_DOOR)


def check_password(*, user: User, password: str, address: str | None) -> bool:
    """`user.check_password` behind the guard, for a door where the user is known (a password change): a wrong
    password counts as a failed sign-in of the user's email from `address`; `SignInThrottled` past a limit."""
    attempt = reserve(email=user.email, address=address)
    if not user.check_password(password):
        return False
    attempt.succeeded()
    return True


class GuardedModelBackend(ModelBackend):
    """Django's ModelBackend with every password check behind the guard: `authenticate()` raises `SignInThrottled`
    past a limit (Django stops only on PermissionDenied, so it reaches the door, which answers 429)."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> User | None:
        email = username if username is not None else kwargs.get(User.USERNAME_FIELD)
        if email is None or password is None:
            return None
        attempt = reserve(email=email, address=request_client_ip(request) if request is not None else client_ip.get())
        user = super().authenticate(request, username=email, password=password, **kwargs)
        if user is not None:
            attempt.succeeded()
        return user


def refuse_after_failures(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Wrap a server-rendered view that checks a password (the admin's login and password change): past the guard's
    limits its answer is a plain-text 429 with `Retry-After`, the password unchecked."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except SignInThrottled as refused:
            return too_many_failures(int(refused.wait or 1))

    return guarded


def too_many_failures(wait: int, *, what: str = "failed sign-ins") -> HttpResponse:
    response = HttpResponse(
        f"Too many {what}. Try again in {wait} seconds.", status=429, content_type="text/plain; charset=utf-8"
    )
    response["Retry-After"] = str(wait)
    return response


# The places of one attempt on Redis, in one round trip however it ends: each counter bumped in turn (INCR, EXPIRE
# NX) and, at the first one past its limit, every place taken given back. KEYS: the pair, address and email
# counters, then the address's known-for-this-account key. ARGV: the counters' lifetime, the limit, the email
# limit. Answers 1 when every place was taken, 0 when refused.
_TAKE_PLACES_SCRIPT = """
for i = 1, 3 do
  local count = redis.call('INCR', KEYS[i])
  redis.call('EXPIRE', KEYS[i], ARGV[1], 'NX')
  local over = count > tonumber(ARGV[2])
  if i == 3 then over = count > tonumber(ARGV[3]) and redis.call('EXISTS', KEYS[4]) == 0 end
  if over then
    for j = 1, i do redis.call('DECR', KEYS[j]) end
    return 0
  end
end
return 1
"""


def _take_places_on_redis(
    client: Any, keys: dict[str, str], *, known: str, limit: int, duration: int
) -> tuple[str, ...] | None:
    from redis.exceptions import RedisError  # imported here for the reason apps.core.cache.batch gives

    places = (keys["pair"], keys["address"], keys["email"])
    redis_keys = [client.make_key(key) for key in (*places, known)]
    try:
        taken = client.get_client(write=True).eval(
            _TAKE_PLACES_SCRIPT, 4, *redis_keys, duration + 1, limit, limit * EMAIL_FAILURE_FACTOR
        )
    except (RedisError, OSError) as exc:  # the limit fails open, as every throttle does
        logger.warning("Sign-in places not taken, the cache is down: %s", exc)
        return ()
    return places if int(taken) else None


def _take_places(keys: dict[str, str], *, known: str, limit: int, duration: int) -> tuple[str, ...] | None:
    """The attempt's places (as `_take_places_on_redis`) on another cache: a bump and a check per counter."""
    taken: list[str] = []
    for kind in ("pair", "address", "email"):
        count = bump_counter(cache, keys[kind], duration + 1)
        if count is None:  # the cache is down: the limit fails open, as every throttle does
            continue
        taken.append(keys[kind])
        if _over(kind, count, limit, known):
            _give_back(taken)
            return None
    return tuple(taken)


def _over(kind: str, count: int, limit: int, known: str) -> bool:
    if kind != "email":
        return count > limit
    return count > limit * EMAIL_FAILURE_FACTOR and not cache.get(known)


def _give_back(keys: tuple[str, ...] | list[str]) -> None:
    for key in keys:
        with suppress(ValueError):  # gone already: its window ended, or a success forgot it
            cache.decr(key)


def _window() -> tuple[int, int, int, int]:
    """The `login` rate (failures, seconds), the current window's start, and the seconds left in it."""
    rate = LoginRateThrottle()  # DRF's copy of the rates and its clock, as every throttle reads them
    duration = rate.duration or 60
    now = int(rate.timer())
    start = now - now % duration
    return rate.num_requests or 0, duration, start, max(start + duration - now, 1)


def _keys(email: str, address: str | None, window: int, door: str) -> dict[str, str]:
    account, client = _hashed(email), address or "unknown"
    return {
        "pair": f"{door}_failures:pair:{account}:{client}:{window}",
        "address": f"{door}_failures:address:{client}:{window}",
        "email": f"{door}_failures:email:{account}:{window}",
    }


def _known_key(email: str, address: str | None, door: str) -> str:
    return f"{door}_known:{_hashed(email)}:{address or 'unknown'}"


def _hashed(email: str) -> str:
    # Short, cache-safe, and no address stored in the cache in clear.
    return hashlib.sha256(normalize_email(email).encode()).hexdigest()
