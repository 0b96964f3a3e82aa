"""JWT authentication that finds the token's user in the cache instead of the database on most requests, and
refuses access tokens that were revoked before they expire.

Every authenticated request needs its user (role, account, active flag, token generation). The row's public
fields are cached for a minute under a version: a fill stores the version it read before its database read, and
every save or delete of the user replaces the version (at once and again at commit), so an entry filled from a
row read before a change never matches again, however late its write lands. A deactivation, a role change or a
revocation thus applies from the next request, as with a database read. The password hash is never cached: it
stays a deferred field that Django loads from the database if a request needs it (a password change). With the
cache down every request simply reads the database.

Revocation: a token carries the account's `token_generation` at sign-in (claim `gen`, kept through refreshes);
revoking every session of the account bumps the generation, and a token of an older one is refused with
`token_revoked`. Signing out denies the access token in use by its `jti` in the cache until it expires (shared
by every process with Redis; the in-process cache only knows its own process's sign-outs).

Process-local state: `_verified_token` remembers the signature and claim check of up to 4096 access tokens per
process, until each expires. It holds no revocation: the generation and the denylist are checked on every request.
"""

import time
import uuid
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.checks import CheckMessage, Error, register
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.translation import gettext as _
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from apps.core.cache import batch as cache_batch

from .models import User

USER_CACHE_SECONDS = 60
# Longer than any entry lives; an expired or evicted version only costs a database read (a new one never matches).
USER_VERSION_SECONDS = 24 * 60 * 60
CACHED_FIELDS = (
    "id",
    "email",
    "full_name",
    "role",
    "account_id",
    "is_verified",
    "is_active",
    "is_staff",
    "is_superuser",
    "date_joined",
    "last_login",
    "token_generation",
)
GENERATION_CLAIM = "gen"


VERIFIED_TOKENS_PER_PROCESS = 4096


def user_cache_key(user_id: Any) -> str:
    return f"auth:user:{user_id}"


def user_version_key(user_id: Any) -> str:
    return f"auth:user-version:{user_id}"


def denied_access_key(jti: str) -> str:
    return f"auth:denied-access:{jti}"


def canonical_user_id(value: object) -> int:
    """The user id a token names, in the one form the cache keys use. "01" or "1 " would reach user 1 through a
    cache entry that no save of user 1 deletes, so only the form we issue (digits, no leading zero) is accepted."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and str(int(value)) == value:
        return int(value)
    raise ValueError(f"not a user id: {value!r}")


def _leeway_seconds() -> float:
    leeway = api_settings.LEEWAY
    return leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)


def deny_access_token(token: Token) -> None:
    """Refuse this access token from now until it expires (signing out), in every process that shares the cache."""
    remaining = int(token["exp"] + _leeway_seconds() - time.time()) + 1
    if remaining > 0:
        cache.set(denied_access_key(str(token[api_settings.JTI_CLAIM])), 1, remaining)


def token_generation(token: Token) -> int:
    """The account's token generation when this token's session signed in (0 for a token issued without one)."""
    value = token.get(GENERATION_CLAIM, 0)
    return value if isinstance(value, int) and not isinstance(value, bool) else -1


@lru_cache(maxsize=VERIFIED_TOKENS_PER_PROCESS)
def _verified_token(raw_token: bytes) -> Token:
    # Verifying an access token (signature, claims) gives the same answer every time until it expires: a client's
    # next requests skip the work. Only successes are kept; revocation is checked on every request, not here.
    return JWTAuthentication().get_validated_token(raw_token)


class TokenRevoked(AuthenticationFailed):
    default_detail = "Token has been revoked."
    default_code = "token_revoked"


class CachedUserJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, with the token's verification remembered in the process until it expires, the
    user read through a short-lived cache, and revoked tokens refused (`token_revoked`)."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_token(raw_token)
        if token["exp"] + _leeway_seconds() <= time.time():
            return super().get_validated_token(raw_token)  # expired since it was verified: refused as simplejwt does
        return token

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        self.request = request  # where a view may have fetched the user's entry already (apps.core.cache.batch)
        return super().authenticate(request)  # type: ignore[return-value]

    def request_token(self, request: Request) -> Token | None:
        """The request's bearer token if it verifies, without reading the user (None otherwise: authentication
        proper then refuses the token as it always did)."""
        header = self.get_header(request)
        try:
            raw_token = self.get_raw_token(header) if header is not None else None
            return self.get_validated_token(raw_token) if raw_token is not None else None
        except (InvalidToken, AuthenticationFailed):  # a malformed header or token
            return None

    # simplejwt declares the return as its AuthUser TypeVar, which no override can match.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:
            user_id = canonical_user_id(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        denied_key = denied_access_key(str(validated_token.get(api_settings.JTI_CLAIM)))
        found = self._cached_many([denied_key, user_cache_key(user_id), user_version_key(user_id)])
        if found.get(denied_key) is not None:
            raise TokenRevoked()
        user = self._cached_user(found.get(user_cache_key(user_id)), found.get(user_version_key(user_id)))
        if user is None:
            user = self._fill(user_id, validated_token)
        elif api_settings.CHECK_USER_IS_ACTIVE and not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
        if token_generation(validated_token) != user.token_generation:
            raise TokenRevoked()
        return user

    def load_user(self, validated_token: Token) -> User:
        """The token's user from the database; refuses missing (and, as configured, inactive) users."""
        user = super().get_user(validated_token)
        if not isinstance(user, User):  # AUTH_USER_MODEL is User: simplejwt's annotation is wider
            raise InvalidToken(_("Token contained no recognizable user identification"))
        return user

    def _cached_many(self, keys: list[str]) -> dict[str, Any]:
        """The keys' values, from this request's batch where it fetched them, else in one cache round trip."""
        found: dict[str, Any] = {}
        missing = []
        for key in keys:
            prefetched, value = cache_batch.take_prefetched(getattr(self, "request", None), key)
            if prefetched:
                found[key] = value
            else:
                missing.append(key)
        return {**found, **(cache.get_many(missing) if missing else {})}

    @staticmethod
    def _cached_user(entry: Any, version: Any) -> User | None:
        if not isinstance(entry, dict) or version is None or entry.get("version") != version:
            return None
        values = entry["values"]
        if not set(CACHED_FIELDS) <= values.keys():  # an entry written by an older release
            return None
        # from_db takes the values in the model's field order; the fields left out (the password) stay deferred.
        names = [f.attname for f in User._meta.concrete_fields if f.attname in values]
        return User.from_db("default", names, [values[name] for name in names])

    def _fill(self, user_id: int, validated_token: Token) -> User:
        # The version is read before the row: a save that commits between the two replaces it, so what this fill
        # stores is never taken for current, however late the write below lands.
        version_key = user_version_key(user_id)
        cache.add(version_key, uuid.uuid4().hex, USER_VERSION_SECONDS)
        version = cache.get(version_key)
        user = self.load_user(validated_token)
        if version is not None:
            values = {field: getattr(user, field) for field in CACHED_FIELDS}
            cache.set(user_cache_key(user_id), {"version": version, "values": values}, USER_CACHE_SECONDS)
        return user


class BatchedAuthenticationReadsMixin:
    """For an API view: before authenticating, the token's cached user and the user's rate-limit counters (and
    any key `batched_cache_keys` names) are read and bumped in one Redis round trip instead of one each
    (apps.core.cache.batch). Authentication, permissions and throttling then run as always, on those answers. A
    token that does not verify fetches nothing here and is refused as before; one of a user that turns out
    inactive has counted one request against that user's limit."""

    def batched_cache_keys(self, request: Request, user_pk: int) -> list[str]:
        """Other keys this request will read, known before authenticating (the token's user is `user_pk`)."""
        return []

    def perform_authentication(self, request: Request) -> None:
        token = bearer_token(request) if _authenticates_by_token(request) else None
        user_pk = token_user_pk(token) if token is not None else None
        # A view that answers warm reads before DRF (apps.products.cache) may have made the batch already.
        if token is not None and user_pk is not None and not cache_batch.fetched(request):
            throttles = self.get_throttles()  # type: ignore[attr-defined]
            counters = [c for t in throttles if (c := getattr(t, "counter_for_user", lambda _: None)(user_pk))]
            keys = [*token_cache_keys(token, user_pk), *self.batched_cache_keys(request, user_pk)]
            cache_batch.prefetch(request, get=keys, bump=counters)
        super().perform_authentication(request)  # type: ignore[misc]


def _authenticates_by_token(request: Request) -> bool:
    return any(isinstance(a, CachedUserJWTAuthentication) for a in request.authenticators or ())


def bearer_token(request: HttpRequest | Request) -> Token | None:
    """The request's bearer access token if it verifies (signature, claims, expiry), else None."""
    return CachedUserJWTAuthentication().request_token(request)  # type: ignore[arg-type]  # it reads META only


def token_user_pk(token: Token) -> int | None:
    """The user id `token` names, in the form the cache keys use; None if it names none."""
    try:
        return canonical_user_id(token[api_settings.USER_ID_CLAIM])
    except (KeyError, ValueError):
        return None


def token_cache_keys(token: Token, user_pk: int) -> list[str]:
    """What authenticating `token` reads from the cache: its user's entry and version, and its sign-out."""
    keys = [user_cache_key(user_pk), user_version_key(user_pk)]
    if api_settings.JTI_CLAIM in token:
        keys.append(denied_access_key(str(token[api_settings.JTI_CLAIM])))
    return keys


def batched_token_user(request: HttpRequest, token: Token, user_pk: int) -> User | None:
    """`token`'s user when the request's batch shows it as authentication would accept it: cached and current,
    active, the token neither signed out nor of an older generation. None when only authentication proper can
    tell (a miss, a refusal, a token without a `jti`); it then runs on the same answers, which this leaves in place.
    """
    if api_settings.JTI_CLAIM not in token:
        return None
    (has_entry, entry), (has_version, version), (has_sign_out, sign_out) = (
        cache_batch.peek(request, key) for key in token_cache_keys(token, user_pk)
    )
    if not (has_entry and has_version and has_sign_out) or sign_out is not None:
        return None
    user = CachedUserJWTAuthentication._cached_user(entry, version)  # noqa: SLF001 - this module's reader
    if user is None or not user.is_active or token_generation(token) != user.token_generation:
        return None
    return user


@receiver(post_save, sender=User, dispatch_uid="users.forget_cached_user_on_save")
@receiver(post_delete, sender=User, dispatch_uid="users.forget_cached_user_on_delete")
def forget_cached_user(sender: type[User], instance: User, **_: Any) -> None:
    user_id = instance.pk  # a deleted instance's pk is None by the time the transaction commits
    forget_user(user_id)
    # Again after the commit: a request that read the old row before it committed may have filled it meanwhile.
    transaction.on_commit(lambda: forget_user(user_id))


def forget_user(user_id: Any) -> None:
    """Make every cached entry of the user stale: a new version, which no entry filled before it carries."""
    cache.set(user_version_key(user_id), uuid.uuid4().hex, USER_VERSION_SECONDS)
    cache.delete(user_cache_key(user_id))


@register()
def cached_user_honours_jwt_settings(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """simplejwt's CHECK_REVOKE_TOKEN compares a hash of the password hash on every request, and the cached user
    never holds the password: with it set, the cache would silently skip the check."""
    if not getattr(settings, "SIMPLE_JWT", {}).get("CHECK_REVOKE_TOKEN", False):
        return []
    return [
        Error(
            "SIMPLE_JWT['CHECK_REVOKE_TOKEN'] is not supported by CachedUserJWTAuthentication.",
            hint="Unset it: a password change already revokes every session through the token generation.",
            id="users.E001",
        )
    ]


class CachedUserJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: the same bearer JWT as simplejwt's own."""

    target_class = "apps.users.authentication.CachedUserJWTAuthentication"
