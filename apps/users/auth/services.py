"""Every write of signing in and out: tokens issued, rotated and revoked.

Durable transactions where only the API calls them; `auth_issue_tokens` is plain `atomic`, as other services
(OpenID Connect) issue tokens inside their own transaction.
"""

import logging

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenBackendError, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.state import token_backend
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken, Token

from apps.core.exceptions import ApplicationError
from apps.core.observability import audit

from ..authentication import GENERATION_CLAIM, deny_access_token, token_generation
from ..mfa import services as mfa
from ..models import RotatedRefreshToken, User, normalize_email

logger = logging.getLogger(__name__)


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    default_detail = "No active account found with the given credentials."


class InvalidRefreshToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


def auth_login(
    *, email: str, password: str, request: HttpRequest | None = None, otp: str | None = None
) -> dict[str, str]:
    """Check the credentials of an active user (outside any transaction), and their second factor when they have
    one (`otp`), and issue their tokens.

    The password is checked behind the login guard (its authentication backend): past a limit, `SignInThrottled`."""
    user = authenticate(request, email=normalize_email(email), password=password)
    if user is None:  # a wrong email, a wrong password, or an inactive user: one answer for all three
        logger.info("Failed sign-in")
        raise InvalidCredentials()
    mfa.mfa_check_sign_in(user=user, otp=otp)
    return auth_issue_tokens(user=user)


@transaction.atomic
def auth_issue_tokens(*, user: User, via: str = "") -> dict[str, str]:
    """A new access and refresh token for a user who just proved who they are (`auth.login` audited).

    Every way of signing in ends here (password, OpenID Connect), so each is recorded alike; `via` names the way
    when it is not the password (`oidc:<provider>`).
    """
    if jwt_settings.UPDATE_LAST_LOGIN:
        user.last_login = timezone.now()
        user.save(update_fields=["last_login"])
    audit.record(actor=user, action="auth.login", target=user, changes={"via": via} if via else None)
    return auth_token_pair(user=user)


def auth_token_pair(*, user: User) -> dict[str, str]:
    """A new access and refresh token for `user`, the refresh token recorded as outstanding (so it can be revoked)."""
    refresh = RefreshToken.for_user(user)
    # Copied into every access token made from it and kept through rotations: a revocation ends the whole session.
    refresh[GENERATION_CLAIM] = user.token_generation
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class _ReplayedRefreshToken(Exception):
    def __init__(self, user_id: str | int) -> None:
        self.user_id = user_id
        super().__init__("a blacklisted refresh token was presented")


def auth_refresh(*, refresh: str) -> dict[str, str]:
    """Trade a refresh token for a new access and refresh token; the one presented is blacklisted.

    A refresh token that was already traded and comes back is taken for a stolen copy: the thief or the owner has
    the newer one, and no one can tell which. Every refresh token of its user is revoked, so both must sign in
    again, and the replay is audited. A token that was signed out or revoked is only refused.
    """
    try:
        return _rotate_refresh_token(refresh=refresh)
    except _ReplayedRefreshToken as replay:
        auth_revoke_after_replay(user_id=replay.user_id)
        raise InvalidRefreshToken("Token is blacklisted") from None


@transaction.atomic(durable=True)
def _rotate_refresh_token(*, refresh: str) -> dict[str, str]:
    # The contract asks for rotation, so it happens whatever ROTATE_REFRESH_TOKENS says. The token's row is locked
    # first: two concurrent refreshes of one token cannot both succeed, so a stolen copy cannot fork the session.
    try:
        # simplejwt annotates `token` as a Token object; it takes the encoded string.
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # signature, expiry, type and blacklist
        outstanding_id = _lock_outstanding_token(jti=token[jwt_settings.JTI_CLAIM])
        token.check_blacklist()  # again, now that a concurrent refresh of the same token has committed or not
    except (TokenError, KeyError) as exc:
        replayed_by = _user_of_rotated_token(refresh)
        if replayed_by is not None:
            raise _ReplayedRefreshToken(replayed_by) from exc
        raise InvalidRefreshToken(_token_error_message(exc)) from exc
    user_id = token.payload.get(jwt_settings.USER_ID_CLAIM)
    user = User.objects.filter(pk=user_id).first() if user_id is not None else None
    if user is None or not user.is_active:
        raise InvalidRefreshToken("No active account found for the given token.")
    if token_generation(token) != user.token_generation:  # revoked while this rotation was under way
        raise InvalidRefreshToken("Token is blacklisted")
    token.blacklist()
    if outstanding_id is not None:
        RotatedRefreshToken.objects.create(token_id=outstanding_id)
    token.set_jti()
    token.set_exp()
    token.set_iat()
    token.outstand()
    return {"access": str(token.access_token), "refresh": str(token)}


def _user_of_rotated_token(refresh: str) -> str | int | None:
    """The user id of a genuine (signed by us, unexpired) refresh token that was already traded, else None."""
    try:
        payload = token_backend.decode(refresh, verify=True)  # type: ignore[arg-type]  # (as above) a string
    except TokenBackendError:
        return None
    if payload.get(jwt_settings.TOKEN_TYPE_CLAIM) != "refresh":
        return None
    if not RotatedRefreshToken.objects.filter(token__jti=payload.get(jwt_settings.JTI_CLAIM)).exists():
        return None
    user_id: str | int | None = payload.get(jwt_settings.USER_ID_CLAIM)
    return user_id


@transaction.atomic(durable=True)
def auth_revoke_after_replay(*, user_id: str | int) -> int:
    """End every session of the user whose traded refresh token came back; audited."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    revoked = user_revoke_sessions(user=user)
    logger.warning("A blacklisted refresh token of user %s was presented again; %s tokens revoked", user.pk, revoked)
    audit.record(
        actor=None, action="auth.refresh_token_replayed", target=user, changes={"revoked_refresh_tokens": revoked}
    )
    return revoked


def _lock_outstanding_token(*, jti: str) -> int | None:
    # No ordering: OutstandingToken orders by user, and PostgreSQL refuses FOR UPDATE across that outer join.
    ids = list(OutstandingToken.objects.select_for_update().filter(jti=jti).order_by().values_list("pk", flat=True))
    return ids[0] if ids else None


def _token_error_message(exc: Exception) -> str:
    if isinstance(exc, TokenError) and exc.args:
        return str(exc.args[0])
    return InvalidRefreshToken.default_detail


@transaction.atomic(durable=True)
def auth_logout(*, user: User, refresh: str, access: Token | None = None) -> None:
    """Blacklist one of the caller's own refresh tokens and refuse `access` (the token the request came with) from
    now on; the account's other sessions go on."""
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # (see auth_refresh) signature, expiry, blacklist
    except TokenError as exc:
        raise ValidationError({"refresh": [_token_error_message(exc)]}) from exc
    if str(token.payload.get(jwt_settings.USER_ID_CLAIM)) != str(user.pk):
        raise ValidationError({"refresh": ["Token is invalid"]})
    token.blacklist()
    if access is not None:
        deny_access_token(access)
    audit.record(actor=user, action="auth.logout", target=user)


def user_revoke_sessions(*, user: User) -> int:
    """End every session of `user`: their access tokens are refused from the next request (the token generation
    moves on) and every unexpired refresh token is blacklisted; returns how many were newly blacklisted. Called
    inside the caller's transaction."""
    user.token_generation = F("token_generation") + 1  # atomic under concurrent revokes
    user.save(update_fields=["token_generation"])  # and the cached user is forgotten (authentication's signal)
    user.refresh_from_db(fields=["token_generation"])
    outstanding = OutstandingToken.objects.filter(
        user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
    )
    created = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )
    return len(created)
