"""Every write an admin makes to another user, from the API and the Django admin alike.

Plain `atomic`, not durable: the Django admin already wraps each change in its own transaction. Passwords are
hashed before the transaction opens, as in `accounts.services`.
"""

from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.core.observability import audit

from .. import events
from ..accounts.services import set_full_name
from ..auth.services import user_revoke_sessions
from ..models import User, normalize_email

EMAIL_TAKEN = "A user with this email already exists."


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
    email: str | None = None,
    is_verified: bool | None = None,
) -> User:
    """An admin's change to any user; None leaves a field as it is. Every change is audited; role and activation
    changes are published as events too. The API changes name, role and activation; the Django admin also the
    email and whether it is verified."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if errors := user_update_errors(user=user, by=by, role=role, is_active=is_active):
        raise ValidationError(errors)
    if email is not None and normalize_email(email) != user.email:
        _change_email(user=user, email=normalize_email(email), by=by)
    if is_verified is not None and is_verified != user.is_verified:
        _set_verified(user=user, is_verified=is_verified, by=by)
    if role is not None and role != user.role:
        _change_role(user=user, role=role, by=by)
    if is_active is False and user.is_active:
        _deactivate(user=user, by=by)
    elif is_active is True and not user.is_active:
        _reactivate(user=user, by=by)
    if full_name is not None:
        set_full_name(user=user, full_name=full_name, by=by)
    return user


@transaction.atomic
def user_deactivate(*, user: User, by: User) -> User:
    """Deactivate `user` (the API's DELETE): their tokens stop working at once. Running it twice is harmless."""
    user = User.objects.select_for_update().get(pk=user.pk)
    # The same rule, and so the same answer, as a PATCH of `is_active` to false.
    if errors := user_update_errors(user=user, by=by, is_active=False):
        raise ValidationError(errors)
    if user.is_active:
        _deactivate(user=user, by=by)
    else:
        user_revoke_sessions(user=user)
    return user


def _change_role(*, user: User, role: str, by: User) -> None:
    old_role = user.role
    user.role = role
    user.save(update_fields=["role"])
    audit.record(actor=by, action="user.role_changed", target=user, changes={"role": [old_role, role]})
    events.user_role_changed(user, old_role=old_role)


def _deactivate(*, user: User, by: User) -> None:
    user.is_active = False
    user.save(update_fields=["is_active"])
    # Access tokens die with is_active (JWTAuthentication checks it on every request); refresh tokens are revoked.
    revoked = user_revoke_sessions(user=user)
    audit.record(
        actor=by,
        action="user.deactivated",
        target=user,
        changes={"is_active": [True, False], "revoked_refresh_tokens": revoked},
    )
    events.user_deactivated(user)


def _reactivate(*, user: User, by: User) -> None:
    user.is_active = True
    user.save(update_fields=["is_active"])
    audit.record(actor=by, action="user.reactivated", target=user, changes={"is_active": [False, True]})
    events.user_reactivated(user)


def user_create(*, email: str, full_name: str, password: str | None, by: User) -> User:
    """An admin adds an account: `user` role, not verified, audited as `user.created`. None: no usable password
    (the person signs in through a provider, or sets one with a password reset)."""
    return _user_store_created(email=email, full_name=full_name, password_hash=make_password(password), by=by)


@transaction.atomic
def _user_store_created(*, email: str, full_name: str, password_hash: str, by: User) -> User:
    try:
        with transaction.atomic():  # a savepoint: a concurrent add of the same email is a form error, not a 500
            user = User.objects.create(email=normalize_email(email), full_name=full_name, password=password_hash)
    except IntegrityError as exc:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from exc
    audit.record(actor=by, action="user.created", target=user)
    return user


def user_set_password(*, user: User, by: User, password: str | None) -> User:
    """An admin sets `user`'s password (None: none usable). Every session of the account must sign in again: its
    refresh tokens are revoked, as after a password reset."""
    return _user_store_password(user=user, by=by, password_hash=make_password(password))


@transaction.atomic
def _user_store_password(*, user: User, by: User, password_hash: str) -> User:
    user = User.objects.select_for_update().get(pk=user.pk)
    user.password = password_hash
    user.save(update_fields=["password"])
    revoked = user_revoke_sessions(user=user)
    audit.record(
        actor=by,
        action="auth.password_set",
        target=user,
        changes={"usable_password": user.has_usable_password(), "revoked_refresh_tokens": revoked},
    )
    return user


def _change_email(*, user: User, email: str, by: User) -> None:
    old_email = user.email
    user.email = email
    try:
        with transaction.atomic():
            user.save(update_fields=["email"])
    except IntegrityError as exc:
        raise ValidationError({"email": [EMAIL_TAKEN]}) from exc
    audit.record(actor=by, action="user.email_changed", target=user, changes={"email": [old_email, email]})


def _set_verified(*, user: User, is_verified: bool, by: User) -> None:
    user.is_verified = is_verified
    user.save(update_fields=["is_verified"])
    action = "user.verified" if is_verified else "user.unverified"
    audit.record(actor=by, action=action, target=user, changes={"is_verified": [not is_verified, is_verified]})
