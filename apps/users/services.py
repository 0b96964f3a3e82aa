"""Every write of the users app. Views, the Django admin and tasks all come through here.

Top-level services that only the API calls are durable transactions ("committed when it returns"). The ones the
Django admin calls too (`user_update`, `user_deactivate`) use plain `atomic`, because the admin already wraps each
change in its own transaction.
"""

import logging

from django.contrib.auth import authenticate
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core import audit
from apps.core.events import publish_event
from apps.core.exceptions import ApplicationError, Conflict
from apps.core.queueing import enqueue_on_commit

from . import oidc
from .models import OidcIdentity, User, normalize_email
from .tasks import send_password_reset_email_task, send_verification_email_task
from .tokens import PasswordResetTokenGenerator, decode_uid, email_verification_token, password_reset_token
from .validators import password_problems

logger = logging.getLogger(__name__)

INVALID_LINK = "The link is invalid or has expired."
EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class InvalidCredentials(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "invalid_credentials"
    default_detail = "No active account found with the given credentials."


class OidcEmailUnverified(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "oidc_email_unverified"
    default_detail = (
        "An account with this email already exists, and the provider does not say the email is verified. "
        "Sign in with your password instead."
    )


class InvalidRefreshToken(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "token_not_valid"
    default_detail = "Token is invalid or expired."


# --- Sign-up and sign-in -------------------------------------------------------------------------------------


# Passwords are hashed and checked outside every transaction: argon2 takes a tenth of a second or more, and on the
# embedded SQLite an open write transaction holds the database's single write lock for everyone.


def user_register(*, email: str, password: str, full_name: str = "") -> User:
    """Create a `user`-role, unverified account and send its verification email after the commit."""
    return _user_create_registered(email=email, password_hash=make_password(password), full_name=full_name)


@transaction.atomic(durable=True)
def _user_create_registered(*, email: str, password_hash: str, full_name: str) -> User:
    try:
        # A savepoint, so a concurrent sign-up with the same email is a clean 400, not a broken transaction.
        with transaction.atomic():
            user = User.objects.create(email=normalize_email(email), password=password_hash, full_name=full_name)
    except IntegrityError as exc:
        raise ValidationError({"email": ["A user with this email already exists."]}) from exc
    audit.record(actor=user, action="user.registered", target=user, changes={"email": [None, user.email]})
    publish_event(
        "user.registered",
        {"user_id": user.pk, "account_id": str(user.account_id), "email": user.email},
        priority="medium",
        aggregate_type="user",
        aggregate_id=str(user.pk),
    )
    enqueue_on_commit(send_verification_email_task, user.pk)
    return user


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
        token = RefreshToken(refresh)  # signature, expiry, type and blacklist
        _lock_outstanding_token(jti=token[jwt_settings.JTI_CLAIM])
        token.check_blacklist()  # again, now that a concurrent refresh of the same token has committed or not
    except (TokenError, KeyError) as exc:
        raise InvalidRefreshToken(_token_error_message(exc)) from exc
    user = User.objects.filter(pk=token.payload.get(jwt_settings.USER_ID_CLAIM)).first()
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
        token = RefreshToken(refresh)  # checks the signature, expiry and the blacklist
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


# --- Email links ---------------------------------------------------------------------------------------------


def _user_from_link(*, uid: str, token: str, generator: PasswordResetTokenGenerator) -> User:
    """The active user a `uid`/`token` pair from an email stands for, locked for the change it authorises."""
    pk = decode_uid(uid)
    if pk is None:
        raise ValidationError({"uid": ["Invalid value."]})
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first()
    if user is None or not generator.check_token(user, token):
        raise ValidationError({"token": [INVALID_LINK]})
    return user


@transaction.atomic(durable=True)
def user_verify_email(*, uid: str, token: str) -> User:
    """Mark the user verified. The token covers `is_verified`, so it works once."""
    user = _user_from_link(uid=uid, token=token, generator=email_verification_token)
    user.is_verified = True
    user.save(update_fields=["is_verified"])
    audit.record(actor=user, action="user.verified", target=user, changes={"is_verified": [False, True]})
    return user


@transaction.atomic(durable=True)
def user_request_password_reset(*, email: str) -> None:
    """Email a reset link if an active account has this email; say nothing either way (no enumeration)."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        logger.info("Password reset asked for an unknown or inactive email")
        return
    enqueue_on_commit(send_password_reset_email_task, user.pk)


def user_reset_password(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from an emailed link and sign the account out everywhere (its refresh tokens revoked).

    The token covers the password hash, so it works once.
    """
    with transaction.atomic():
        user = _user_from_link(uid=uid, token=token, generator=password_reset_token)
    if problems := password_problems(new_password, user):
        raise ValidationError({"new_password": problems})
    return _user_store_reset_password(uid=uid, token=token, password_hash=make_password(new_password))


@transaction.atomic(durable=True)
def _user_store_reset_password(*, uid: str, token: str, password_hash: str) -> User:
    # The link is checked again under the row lock: of two resets racing with one link, the second finds it used.
    user = _user_from_link(uid=uid, token=token, generator=password_reset_token)
    user.password = password_hash
    user.save(update_fields=["password"])
    revoked = user_blacklist_refresh_tokens(user=user)
    audit.record(actor=user, action="auth.password_reset", target=user, changes={"revoked_refresh_tokens": revoked})
    return user


# --- The caller's own account --------------------------------------------------------------------------------


def user_change_password(*, user: User, old_password: str, new_password: str) -> User:
    errors: dict[str, list[str]] = {}
    if not user.check_password(old_password):
        errors["old_password"] = ["The old password is not correct."]
    if problems := password_problems(new_password, user):
        errors["new_password"] = problems
    if errors:
        raise ValidationError(errors)
    return _user_store_changed_password(user=user, password_hash=make_password(new_password))


@transaction.atomic(durable=True)
def _user_store_changed_password(*, user: User, password_hash: str) -> User:
    user.password = password_hash
    user.save(update_fields=["password"])
    audit.record(actor=user, action="auth.password_changed", target=user)
    return user


@transaction.atomic(durable=True)
def user_update_profile(*, user: User, full_name: str) -> User:
    """What a user may change about themselves: the name."""
    _set_full_name(user=user, full_name=full_name, by=user)
    return user


# --- Admin management ----------------------------------------------------------------------------------------


def user_update_errors(
    *, user: User, by: User, role: str | None = None, is_active: bool | None = None
) -> dict[str, list[str]]:
    """What is wrong with an admin's change to `user`, by field (empty when nothing is).

    An admin cannot take away their own role or access, so the service never loses its last admin by accident;
    a superuser is always an admin. The Django admin's form asks this too, to show the errors on its fields.
    """
    errors: dict[str, list[str]] = {}
    if role is not None and role != user.role:
        if role not in User.Role.values:
            errors["role"] = [f'"{role}" is not a valid choice.']
        elif user.is_superuser:
            errors["role"] = ["A superuser is always an admin."]
        elif user.pk == by.pk:
            errors["role"] = ["You cannot change your own role."]
    if is_active is False and user.is_active and user.pk == by.pk:
        errors["is_active"] = ["You cannot deactivate your own account."]
    return errors


@transaction.atomic
def user_update(
    *,
    user: User,
    by: User,
    full_name: str | None = None,
    role: str | None = None,
    is_active: bool | None = None,
) -> User:
    """An admin's change to any user; None leaves a field as it is. Role and activation changes are audited and
    published as events."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if errors := user_update_errors(user=user, by=by, role=role, is_active=is_active):
        raise ValidationError(errors)
    if role is not None and role != user.role:
        _change_role(user=user, role=role, by=by)
    if is_active is False and user.is_active:
        _deactivate(user=user, by=by)
    elif is_active is True and not user.is_active:
        _reactivate(user=user, by=by)
    if full_name is not None:
        _set_full_name(user=user, full_name=full_name, by=by)
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User) -> User:
    """Deactivate `user` (the API's DELETE): their tokens stop working at once. Running it twice is harmless."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == by.pk:
        raise ValidationError("You cannot deactivate your own account.")
    if user.is_active:
        _deactivate(user=user, by=by)
    else:
        user_blacklist_refresh_tokens(user=user)
    return user


def _change_role(*, user: User, role: str, by: User) -> None:
    old_role = user.role
    user.role = role
    user.save(update_fields=["role"])
    audit.record(actor=by, action="user.role_changed", target=user, changes={"role": [old_role, role]})
    publish_event(
        "user.role_changed",
        {"user_id": user.pk, "account_id": str(user.account_id), "old_role": old_role, "new_role": role},
        priority="high",
        aggregate_type="user",
        aggregate_id=str(user.pk),
    )


def _deactivate(*, user: User, by: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    # Access tokens die with is_active (JWTAuthentication checks it on every request); refresh tokens are revoked.
    revoked = user_blacklist_refresh_tokens(user=user)
    audit.record(
        actor=by,
        action="user.deactivated",
        target=user,
        changes={"is_active": [True, False], "revoked_refresh_tokens": revoked},
    )
    publish_event(
        "user.deactivated",
        {"user_id": user.pk, "account_id": str(user.account_id)},
        priority="high",
        aggregate_type="user",
        aggregate_id=str(user.pk),
    )


def _reactivate(*, user: User, by: User) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(actor=by, action="user.reactivated", target=user, changes={"is_active": [False, True]})
    publish_event(
        "user.reactivated",
        {"user_id": user.pk, "account_id": str(user.account_id)},
        priority="medium",
        aggregate_type="user",
        aggregate_id=str(user.pk),
    )


def _set_full_name(*, user: User, full_name: str, by: User) -> None:
    if full_name == user.full_name:
        return
    old_name = user.full_name
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    audit.record(actor=by, action="user.profile_updated", target=user, changes={"full_name": [old_name, full_name]})


# --- OpenID Connect sign-in ----------------------------------------------------------------------------------


def auth_oidc_sign_in(
    *, provider_id: str, code: str, redirect_uri: str, code_verifier: str, nonce: str | None = None
) -> dict[str, str]:
    """Sign in with an authorization code from an OpenID Connect provider; answers our own token pair.

    The code is exchanged and the ID token verified first, outside any transaction (no row stays locked while the
    provider answers); then the account is found, linked or created in one transaction.
    """
    provider = oidc.get_provider(provider_id)
    claims = oidc.verified_claims(
        provider=provider, code=code, redirect_uri=redirect_uri, code_verifier=code_verifier, nonce=nonce
    )
    return auth_oidc_issue_tokens(claims=claims)


@transaction.atomic(durable=True)
def auth_oidc_issue_tokens(*, claims: oidc.OidcClaims) -> dict[str, str]:
    """Tokens for the person a verified ID token names.

    The account is the one already linked to (provider, subject); else the one whose email the provider says is
    verified, which is then linked; else a new one (verified when the provider says the email is). An existing
    account whose email the provider does not vouch for is refused: anyone can claim an email at some provider.
    """
    user = _oidc_account(claims=claims)
    if not user.is_active:
        raise InvalidCredentials("This account is deactivated.")
    return auth_issue_tokens(user=user, via=f"oidc:{claims.provider}")


def _oidc_account(*, claims: oidc.OidcClaims) -> User:
    # Each attempt in a savepoint: when a concurrent first sign-in of the same person wins the race on the unique
    # (provider, subject) or email, this one fails cleanly, and the second attempt finds what the winner made.
    try:
        with transaction.atomic():
            return _oidc_find_link_or_create(claims=claims)
    except IntegrityError:
        pass
    try:
        with transaction.atomic():
            return _oidc_find_link_or_create(claims=claims)
    except IntegrityError:
        raise Conflict("Another sign-in of this account is in progress; try again.") from None


def _oidc_find_link_or_create(*, claims: oidc.OidcClaims) -> User:
    identity = (
        OidcIdentity.objects.select_related("user").filter(provider=claims.provider, subject=claims.subject).first()
    )
    if identity is not None:
        if claims.email and claims.email != identity.email and len(claims.email) <= EMAIL_MAX_LENGTH:
            identity.email = claims.email
            identity.save(update_fields=["email"])
        return identity.user
    email = _oidc_email(claims)
    user = User.objects.select_for_update().filter(email__iexact=email).first()
    if user is None:
        user = _oidc_create_user(claims=claims, email=email)
    elif not claims.email_verified:
        raise OidcEmailUnverified()
    elif not user.is_verified:
        _oidc_claim_unverified_account(user=user, claims=claims)
    identity = OidcIdentity.objects.create(
        provider=claims.provider, subject=claims.subject, user=user, email=claims.email
    )
    audit.record(
        actor=user,
        action="auth.oidc_linked",
        target=identity,
        changes={"provider": claims.provider, "subject": claims.subject, "email": claims.email},
    )
    return user


def _oidc_email(claims: oidc.OidcClaims) -> str:
    if not claims.email:
        raise oidc.OidcSignInFailed("The provider shared no email address; the `email` scope is needed.")
    try:
        if len(claims.email) > EMAIL_MAX_LENGTH:
            raise ValidationError("too long")
        validate_email(claims.email)
    except ValidationError as exc:
        raise oidc.OidcSignInFailed("The provider's email address is not valid.") from exc
    return claims.email


def _oidc_create_user(*, claims: oidc.OidcClaims, email: str) -> User:
    # No password: this person signs in through the provider (a password reset can add one later).
    user = User.objects.create_user(
        email=email, password=None, full_name=claims.name, is_verified=claims.email_verified
    )
    audit.record(
        actor=user,
        action="user.registered",
        target=user,
        changes={"email": [None, user.email], "via": f"oidc:{claims.provider}", "is_verified": user.is_verified},
    )
    publish_event(
        "user.registered",
        {"user_id": user.pk, "account_id": str(user.account_id), "email": user.email},
        priority="medium",
        aggregate_type="user",
        aggregate_id=str(user.pk),
    )
    if not user.is_verified:
        enqueue_on_commit(send_verification_email_task, user.pk)
    return user


def _oidc_claim_unverified_account(*, user: User, claims: oidc.OidcClaims) -> None:
    """The provider proves the email; the account's owner never did. Whoever chose its password may not own the
    email (an account registered in advance to catch the real owner's later sign-in), so the password is cleared
    and its sessions revoked before the owner is let in; a password reset to the email restores one."""
    user.set_unusable_password()
    user.is_verified = True
    user.save(update_fields=["password", "is_verified"])
    revoked = user_blacklist_refresh_tokens(user=user)
    audit.record(
        actor=user,
        action="user.verified",
        target=user,
        changes={
            "is_verified": [False, True],
            "via": f"oidc:{claims.provider}",
            "password_cleared": True,
            "revoked_refresh_tokens": revoked,
        },
    )
