"""JWT authentication that finds the token's user in the cache instead of the database on most requests.

Every authenticated request needs its user (role, account, active flag). The row's public fields are cached for
a minute; every save or delete of the user drops the entry at once and again at commit, so a deactivation or a
role change applies from the next request, as with a database read. The password hash is never cached: it stays
a deferred field that Django loads from the database if a request needs it (a password change). With the cache
down every request simply reads the database.
"""

import time
from datetime import timedelta
from functools import lru_cache
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
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
)


VERIFIED_TOKENS_PER_PROCESS = 4096


def user_cache_key(user_id: Any) -> str:
    return f"auth:user:{user_id}"


def canonical_user_id(value: object) -> int:
    """The user id a token names, in the one form the cache keys use. "01" or "1 " would reach user 1 through a
    cache entry that no save of user 1 deletes, so only the form we issue (digits, no leading zero) is accepted."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and str(int(value)) == value:
        return int(value)
    raise ValueError(f"not a user id: {value!r}")


@lru_cache(maxsize=VERIFIED_TOKENS_PER_PROCESS)
def _verified_token(raw_token: bytes) -> Token:
    # Verifying an access token (signature, claims) gives the same answer every time until it expires, and
    # simplejwt cannot revoke an access token: a client's next requests skip the work. Only successes are kept.
    return JWTAuthentication().get_validated_token(raw_token)


class CachedUserJWTAuthentication(JWTAuthentication):
    """simplejwt's JWTAuthentication, with the token's verification remembered in the process until it expires and
    the user read through a short-lived cache."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        token = _verified_token(raw_token)
        leeway = api_settings.LEEWAY
        leeway_seconds = leeway.total_seconds() if isinstance(leeway, timedelta) else float(leeway)
        if token["exp"] + leeway_seconds <= time.time():
            return super().get_validated_token(raw_token)  # expired since it was verified: refused as simplejwt does
        return token

    def authenticate(self, request: Request) -> tuple[User, Token] | None:  # type: ignore[override]
        self.request = request  # where a view may have fetched the user's entry already (apps.core.cache.batch)
        return super().authenticate(request)  # type: ignore[return-value]

    def token_user_id(self, request: Request) -> int | None:
        """The user id of the request's bearer token if it verifies, without reading the user (None otherwise:
        authentication proper then refuses the token as it always did)."""
        header = self.get_header(request)
        raw_token = self.get_raw_token(header) if header is not None else None
        if raw_token is None:
            return None
        try:
            return canonical_user_id(self.get_validated_token(raw_token)[api_settings.USER_ID_CLAIM])
        except (InvalidToken, AuthenticationFailed, KeyError, ValueError):
            return None

    # simplejwt declares the return as its AuthUser TypeVar, which no override can match.
    def get_user(self, validated_token: Token) -> User:  # type: ignore[override]
        try:
            user_id = canonical_user_id(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, ValueError) as exc:
            raise InvalidToken(_("Token contained no recognizable user identification")) from exc
        key = user_cache_key(user_id)
        found, values = cache_batch.take_prefetched(getattr(self, "request", None), key)
        if not found:
            values = cache.get(key)
        if values is None:
            user = super().get_user(validated_token)  # the database; refuses missing and inactive users
            if not isinstance(user, User):  # AUTH_USER_MODEL is User: simplejwt's annotation is wider
                raise InvalidToken(_("Token contained no recognizable user identification"))
            cache.set(key, {field: getattr(user, field) for field in CACHED_FIELDS}, USER_CACHE_SECONDS)
            return user
        # from_db takes the values in the model's field order; the fields left out (the password) stay deferred.
        names = [f.attname for f in User._meta.concrete_fields if f.attname in values]
        user = User.from_db("default", names, [values[name] for name in names])
        if not user.is_active:
            raise AuthenticationFailed(_("User is inactive"), code="user_inactive")
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
        user_pk = next(
            (pk for a in request.authenticators or () if (pk := _token_user_id(a, request)) is not None), None
        )
        if user_pk is not None:
            throttles = self.get_throttles()  # type: ignore[attr-defined]
            counters = [c for t in throttles if (c := getattr(t, "counter_for_user", lambda _: None)(user_pk))]
            cache_batch.prefetch(
                request, get=[user_cache_key(user_pk), *self.batched_cache_keys(request, user_pk)], bump=counters
            )
        super().perform_authentication(request)  # type: ignore[misc]


def _token_user_id(authenticator: object, request: Request) -> int | None:
    if isinstance(authenticator, CachedUserJWTAuthentication):
        return authenticator.token_user_id(request)
    return None


@receiver(post_save, sender=User, dispatch_uid="users.forget_cached_user_on_save")
@receiver(post_delete, sender=User, dispatch_uid="users.forget_cached_user_on_delete")
def forget_cached_user(sender: type[User], instance: User, **_: Any) -> None:
    key = user_cache_key(instance.pk)
    cache.delete(key)
    # Again after the commit: a request that read the old row before it committed may have cached it meanwhile.
    transaction.on_commit(lambda: cache.delete(key))


class CachedUserJWTScheme(SimpleJWTScheme):
    """The OpenAPI security scheme: the same bearer JWT as simplejwt's own."""

    target_class = "apps.users.authentication.CachedUserJWTAuthentication"
