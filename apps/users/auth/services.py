"""Every write of signing in and out: tokens issued, rotated and revoked.

Durable transactions where only the API calls them; `auth_issue_tokens` is plain `atomic`, as other services
(OpenID Connect) issue tokens inside their own transaction.
"""

import logging

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core import audit
from apps.core.exceptions import ApplicationError

from ..models import User, normalize_email

logger = logging.getLogger(__name__)


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    default_detail = "No active account found with the given credentials."


class InvalidRefreshToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


def auth_login(*, email: str, password: str, request: HttpRequest | None = None) -> dict[str, str]:
    """Check the credentials of an active user (outside any transaction) and issue their tokens."""
    user = authenticate(request, email=normalize_email(email), password=password)
    if user is None:  # a wrong email, a wrong password, or an inactive user: one answer for all three
        logger.info("Failed sign-in")
        raise InvalidCredentials()
    return auth_issue_tokens(user=user)


@transaction.atomic
def auth_issue_tokens(*, user: User, via: str = "") -> dict[str, str]:
    """A new access and refresh token for a user who just proved who they are (`auth.login` audited).

    Every way of signing in ends here (password, OpenID Connect), so each is recorded alike; `via` names the way
    when it is not the password (`oidc:<provider>`).
    """
    refresh = RefreshToken.for_user(user)  # also recorded as an outstanding token, so it can be revoked
    if jwt_settings.UPDATE_LAST_LOGIN:
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
    audit.record(actor=user, action="auth.login", target=user, changes={"via": via} if via else None)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


@transaction.atomic(durable=True)
def auth_refresh(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new access and refresh token; the one presented is blacklisted.

    The contract asks for rotation, so it happens whatever ROTATE_REFRESH_TOKENS says. The token's row is locked
    first: two concurrent refreshes of one token cannot both succeed, so a stolen copy cannot fork the session.
    """
    try:
        # simplejwt annotates `token` as a Token object; it takes the encoded string.
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # signature, expiry, type and blacklist
        _lock_outstanding_token(jti=token[jwt_settings.JTI_CLAIM])
        token.check_blacklist()  # again, now that a concurrent refresh of the same token has committed or not
    except (TokenError, KeyError) as exc:
        raise InvalidRefreshToken(_token_error_message(exc)) from exc
    user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not user.is_active:
        raise InvalidRefreshToken("No active account found for the given token.")
    token.blacklist()
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    return {"access": str(token.access_token), "refresh": str(token)}


def _lock_outstanding_token(*, jti: str) -> None:
    # No ordering: OutstandingToken orders by user, and PostgreSQL refuses FOR UPDATE across that outer join.
    list(OutstandingToken.objects.select_for_update().filter(jti=jti).order_by().values_list("pk", flat=True))


def _token_error_message(exc: Exception) -> str:
    if isinstance(exc, TokenError) and exc.args:
        return str(exc.args[0])
    return InvalidRefreshToken.default_detail


@transaction.atomic(durable=True)
def auth_logout(*, user: User, refresh: str) -> None:
    """Blacklist one of the caller's own refresh tokens."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # (see auth_refresh) signature, expiry, blacklist
    except TokenError as exc:
        raise ValidationError({"refresh": [_token_error_message(exc)]}) from exc
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ValidationError({"refresh": ["Token is invalid"]})
    token.blacklist()
    audit.record(actor=user, action="auth.logout", target=user)


def user_blacklist_refresh_tokens(*, user: User) -> int:
    """Revoke every unexpired refresh token of `user`; returns how many were newly blacklisted."""
    outstanding = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)
