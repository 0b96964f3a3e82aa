"""Every write of a person's own account: sign-up, email verification, password reset and change, profile.

Durable transactions: only the API calls these, and each is committed when it returns.
"""

import logging

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.core.background.queueing import enqueue_on_commit
from apps.core.observability import audit

from .. import events, login_guard
from ..auth.services import auth_token_pair, user_revoke_sessions
from ..models import User, normalize_email
from ..tasks import send_password_reset_email_task, send_verification_email_task
from ..tokens import PasswordResetTokenGenerator, decode_uid, email_verification_token, password_reset_token
from ..validators import password_problems

logger = logging.getLogger(__name__)

INVALID_LINK = "The link is invalid or has expired."


# Passwords are hashed and checked outside every transaction: argon2 takes a tenth of a second or more, and on the
# embedded SQLite an open write transaction holds the database's single write lock for everyone.


def user_register(*, email: str, password: str, full_name: str = "", site: str = "") -> User:
    """Create a `user`-role, unverified account and send its verification email after the commit (`site`: the
    scheme and host its link points to when no FRONTEND_URL is set)."""
    return _user_create_registered(email=email, password_hash=make_password(password), full_name=full_name, site=site)


@transaction.atomic(durable=True)
def _user_create_registered(*, email: str, password_hash: str, full_name: str, site: str) -> User:
    try:
        # A savepoint, so a concurrent sign-up with the same email is a clean 400, not a broken transaction.
        with transaction.atomic():
            user = User.objects.create(email=normalize_email(email), password=password_hash, full_name=full_name)
    except IntegrityError as exc:
        raise ValidationError({"email": ["A user with this email already exists."]}) from exc
    audit.record(actor=user, action="user.registered", target=user, changes={"email": [None, user.email]})
    events.user_registered(user)
    enqueue_on_commit(send_verification_email_task, user.pk, site)
    return user


def _user_from_link(*, uid: str, token: str, generator: PasswordResetTokenGenerator) -> User:
    """The active user a `uid`/`token` pair from an email stands for, locked for the change it authorises."""
    pk = decode_uid(uid)
    if pk is None:
        raise ValidationError({"uid": ["Invalid value."]})
    user = User.objects.select_for_update().filter(pk=pk, is_active=True).first()
    if user is None or not generator.check_token(user, token):
        raise ValidationError({"token": [INVALID_LINK]})
    return user


def user_verify_email(*, uid: str, token: str, address: str | None = None) -> User:
    """Mark the user verified. The token covers `is_verified`, so it works once.

    The token is checked behind the login guard's link counters (a wrong one counts as a failure from `address`,
    the client's); past a limit `SignInThrottled` is raised before it is checked."""
    attempt = login_guard.reserve_link(uid=uid, address=address)
    user = _user_store_verified(uid=uid, token=token)
    attempt.succeeded()
    return user


@transaction.atomic(durable=True)
def _user_store_verified(*, uid: str, token: str) -> User:
    user = _user_from_link(uid=uid, token=token, generator=email_verification_token)
    user.is_verified = True
    user.save(update_fields=["is_verified"])
    audit.record(actor=user, action="user.verified", target=user, changes={"is_verified": [False, True]})
    return user


@transaction.atomic(durable=True)
def user_request_password_reset(*, email: str, site: str = "") -> None:
    """Email a reset link if an active account has this email; say nothing either way (no enumeration)."""
    user = User.objects.filter(email__iexact=normalize_email(email), is_active=True).first()
    if user is None:
        logger.info("Password reset asked for an unknown or inactive email")
        return
    enqueue_on_commit(send_password_reset_email_task, user.pk, site)


def user_reset_link_works(*, uid: str, token: str, address: str | None = None) -> bool:
    """Whether a reset link would still be taken (an active account, and a token its password still matches), for
    the page that opens it; checked behind the login guard's link counters as `user_reset_password` checks it."""
    attempt = login_guard.reserve_link(uid=uid, address=address)
    pk = decode_uid(uid)
    user = User.objects.filter(pk=pk, is_active=True).first() if pk is not None else None
    if user is None or not password_reset_token.check_token(user, token):
        return False
    attempt.succeeded()
    return True


def user_reset_password(*, uid: str, token: str, new_password: str, address: str | None = None) -> User:
    """Set a new password from an emailed link and sign the account out everywhere (its refresh tokens revoked).

    The token covers the password hash, so it works once. It is checked behind the login guard's link counters (a
    wrong one counts as a failure from `address`, the client's); past a limit `SignInThrottled` is raised before it
    is checked.
    """
    attempt = login_guard.reserve_link(uid=uid, address=address)
    with transaction.atomic():
        user = _user_from_link(uid=uid, token=token, generator=password_reset_token)
    attempt.succeeded()
    if problems := password_problems(new_password, user):
        raise ValidationError({"new_password": problems})
    return _user_store_reset_password(uid=uid, token=token, password_hash=make_password(new_password))


@transaction.atomic(durable=True)
def _user_store_reset_password(*, uid: str, token: str, password_hash: str) -> User:
    # The link is checked again under the row lock: of two resets racing with one link, the second finds it used.
    user = _user_from_link(uid=uid, token=token, generator=password_reset_token)
    user.password = password_hash
    user.save(update_fields=["password"])
    revoked = user_revoke_sessions(user=user)
    audit.record(actor=user, action="auth.password_reset", target=user, changes={"revoked_refresh_tokens": revoked})
    return user


def user_change_password(
    *, user: User, old_password: str, new_password: str, address: str | None = None
) -> dict[str, str]:
    """Set a new password, sign the account out everywhere (every refresh token revoked, and every emailed reset
    link spent with the old hash) and return a fresh token pair for the caller's own session.

    The old password is checked behind the login guard: a wrong one counts as a failed sign-in of the user from
    `address` (the client's), and past a limit `SignInThrottled` is raised before it is checked."""
    errors: dict[str, list[str]] = {}
    if not login_guard.check_password(user=user, password=old_password, address=address):
        errors["old_password"] = ["The old password is not correct."]
    if problems := password_problems(new_password, user):
        errors["new_password"] = problems
    if errors:
        raise ValidationError(errors)
    return _user_store_changed_password(user=user, password_hash=make_password(new_password))


@transaction.atomic(durable=True)
def _user_store_changed_password(*, user: User, password_hash: str) -> dict[str, str]:
    user.password = password_hash
    user.save(update_fields=["password"])
    revoked = user_revoke_sessions(user=user)
    audit.record(actor=user, action="auth.password_changed", target=user, changes={"revoked_refresh_tokens": revoked})
    return auth_token_pair(user=user)


@transaction.atomic(durable=True)
def user_update_profile(*, user: User, full_name: str) -> User:
    """What a user may change about themselves: the name."""
    set_full_name(user=user, full_name=full_name, by=user)
    return user


def set_full_name(*, user: User, full_name: str, by: User) -> None:
    """Rename `user` (audited as `by`'s change); the same name again writes nothing. Called inside a transaction."""
    if full_name == user.full_name:
        return
    old_name = user.full_name
    user.full_name = full_name
    user.save(update_fields=["full_name"])
    audit.record(actor=by, action="user.profile_updated", target=user, changes={"full_name": [old_name, full_name]})
