"""The second factor: TOTP devices and recovery codes (django-otp's `otp_totp` and `otp_static`), enrolled,
checked and removed.

Every code check goes through `mfa_verify`: a per-user limit on wrong codes (`OTP_THROTTLE_RATE`, reserved before
the check and given back when the code is right), then django-otp's own exponential backoff on the device
(`OTP_TOTP_THROTTLE_FACTOR`, `OTP_STATIC_THROTTLE_FACTOR`). Each wrong code is audited (`auth.otp_failed`). A check
commits on its own, before its error is raised, so a wrong code's backoff and audit row are never rolled back.
"""

import re
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django_otp.models import Device, VerifyNotAllowed
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework import status
from rest_framework.throttling import SimpleRateThrottle

from apps.core.cache.counters import bump_counter
from apps.core.exceptions import ApplicationError, Conflict
from apps.core.observability import audit

from .. import login_guard
from ..models import User

RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "authenticator"
RECOVERY_DEVICE_NAME = "recovery codes"
_TOTP_CODE = re.compile(r"\d{6}")


class OtpRequired(ApplicationError):
    status_code = status.HTTP_401_UNAUTHORIZED
    code = "otp_required"
    default_detail = (
        "This account has two-factor authentication: send `otp`, a code of the authenticator app or a recovery code."
    )


class OtpInvalid(ApplicationError):
    """A wrong code at sign-in. Where the caller is signed in already (confirm, disable) it is a 400 on `otp`."""

    status_code = status.HTTP_401_UNAUTHORIZED
    code = "otp_invalid"
    default_detail = "The code is wrong, expired or already used."


class OtpThrottled(ApplicationError):
    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    code = "otp_throttled"
    default_detail = "Too many wrong codes. Try again later."

    def __init__(self, wait: int | None = None) -> None:
        super().__init__(f"Too many wrong codes. Try again in {wait} seconds." if wait else None)
        self.wait = wait


class OtpAlreadyEnabled(Conflict):
    code = "otp_already_enabled"
    default_detail = "Two-factor authentication is already on; turn it off first to enrol a new authenticator."


class OtpNotSetUp(Conflict):
    code = "otp_not_set_up"
    default_detail = "No authenticator is waiting for confirmation: start with the setup."


class OtpNotEnabled(Conflict):
    code = "otp_not_enabled"
    default_detail = "Two-factor authentication is not on for this account."


# --- Reads ----------------------------------------------------------------------------------------------------


def mfa_totp_device(*, user: User, confirmed: bool = True) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=confirmed).order_by("pk").first()


def mfa_enabled(*, user: User) -> bool:
    """Whether the user signs in with a second factor (a confirmed authenticator)."""
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_recovery_codes_left(*, user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__confirmed=True).count()


def mfa_admin_needs_enrolment(*, user: User) -> bool:
    """A staff member the admin sends to enrol: the second factor is required and they have none yet."""
    return bool(settings.ADMIN_REQUIRE_2FA) and user.is_staff and user.is_active and not mfa_enabled(user=user)


# --- Enrolment ------------------------------------------------------------------------------------------------


@transaction.atomic(durable=True)
def mfa_setup(*, user: User, keep_pending: bool = False) -> TOTPDevice:
    """A new unconfirmed authenticator for `user` (any earlier unconfirmed one is dropped), or, with
    `keep_pending`, the one already waiting (the admin's enrolment page, reloaded, shows the same secret)."""
    # Setups of one user (a double click, two tabs) run one after another, so each drops the one before it.
    User.objects.select_for_update().filter(pk=user.pk).exists()
    if mfa_enabled(user=user):
        raise OtpAlreadyEnabled()
    pending = TOTPDevice.objects.filter(user=user, confirmed=False)
    if keep_pending and (device := pending.order_by("pk").first()) is not None:
        return device
    pending.delete()
    device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    audit.record(actor=user, action="auth.mfa_setup", target=user)
    return device


def mfa_confirm(*, user: User, code: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending authenticator with a first code: two-factor sign-in is on from now, and the answer
    carries the recovery codes, which are never shown again."""
    if mfa_enabled(user=user):
        raise OtpAlreadyEnabled()
    pending = mfa_totp_device(user=user, confirmed=False)
    if pending is None:
        raise OtpNotSetUp()
    with _wrong_code_is_a_field_error():
        _check(user=user, code=code, device=pending)
        return _enable(user=user, device_id=pending.pk)


@transaction.atomic(durable=True)
def _enable(*, user: User, device_id: int) -> tuple[TOTPDevice, list[str]]:
    device = TOTPDevice.objects.select_for_update().filter(pk=device_id, user=user).first()
    if device is None:
        # A setup since the check replaced the authenticator the code came from; the new one has another secret.
        raise OtpInvalid()
    if device.confirmed:
        raise OtpAlreadyEnabled()  # a concurrent confirmation came first and answered the recovery codes
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = _new_recovery_codes(user=user)
    audit.record(actor=user, action="auth.mfa_enabled", target=user)
    return device, codes


def _new_recovery_codes(*, user: User) -> list[str]:
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def mfa_disable(
    *, user: User, code: str | None = None, password: str | None = None, address: str | None = None
) -> None:
    """Turn two-factor sign-in off, proven by a current code (or a recovery code) or the account's password (checked
    behind the login guard too, as a sign-in of the user from `address`, the client's)."""
    if not mfa_enabled(user=user):
        raise OtpNotEnabled()
    if code:
        with _wrong_code_is_a_field_error():
            mfa_verify(user=user, code=code)
    elif not _password_matches(user=user, password=password or "", address=address):
        raise ValidationError({"password": ["The password is not correct."]}, code="password_invalid")
    _remove_devices(user=user)


@contextmanager
def _wrong_code_is_a_field_error() -> Iterator[None]:
    # The caller is signed in already: a wrong code is bad input (400 on `otp`), not a failed authentication (401).
    try:
        yield
    except OtpInvalid as wrong:
        raise ValidationError({"otp": [wrong.detail]}, code=OtpInvalid.code) from None


def _password_matches(*, user: User, password: str, address: str | None) -> bool:
    # A wrong password here counts against the same per-user limit as a wrong code (it is the other way to prove),
    # and, being a password check, in the login guard's counters: past either limit it is refused unchecked.
    reserved = _reserve_failure(user)
    try:
        right = login_guard.check_password(user=user, password=password, address=address)
    except login_guard.SignInThrottled:
        _give_back(reserved)
        raise
    if right:
        _give_back(reserved)
        return True
    _audit_failure(user=user, kind="password")
    return False


@transaction.atomic(durable=True)
def _remove_devices(*, user: User) -> None:
    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit.record(actor=user, action="auth.mfa_disabled", target=user)


# --- Checking a code ------------------------------------------------------------------------------------------


def mfa_check_sign_in(*, user: User, otp: str | None) -> Device | None:
    """The second step of a sign-in whose password was right: None for a user without a second factor, else the
    device that accepted `otp`. `OtpRequired` without a code, `OtpInvalid` for a wrong one (401 both)."""
    if not mfa_enabled(user=user):
        return None
    if not otp:
        raise OtpRequired()
    return mfa_verify(user=user, code=otp)


def mfa_verify(*, user: User, code: str) -> Device:
    """The device of `user` that accepts `code`: six digits are a TOTP code, anything else a recovery code (used
    up by this check). Raises `OtpInvalid` or `OtpThrottled`."""
    normalized = re.sub(r"[\s-]", "", code).lower()
    device: Device | None
    if _TOTP_CODE.fullmatch(normalized):
        device = mfa_totp_device(user=user)
    else:
        device = StaticDevice.objects.filter(user=user, confirmed=True).first()
    return _check(user=user, code=normalized, device=device)


@dataclass(frozen=True)
class _Outcome:
    accepted: bool
    wait: int | None = None


def _check(*, user: User, code: str, device: Device | None) -> Device:
    reserved = _reserve_failure(user)
    outcome = _verify_on_device(user=user, code=code, device=device) if device is not None else _Outcome(False)
    if outcome.wait is not None:
        _give_back(reserved)  # refused by the device's backoff, the code unchecked: not a guess
        raise OtpThrottled(outcome.wait)
    if device is None or not outcome.accepted:
        _audit_failure(user=user, kind=_kind(device))
        raise OtpInvalid()
    _give_back(reserved)
    return device


@transaction.atomic(durable=True)
def _verify_on_device(*, user: User, code: str, device: Device) -> _Outcome:
    # The row is locked so two checks of one code cannot both pass (TOTP's last_t, a recovery code's deletion).
    locked: Any = type(device).objects.select_for_update().filter(pk=device.pk).first()
    if locked is None:
        return _Outcome(False)  # removed since it was read (replaced by a new setup, or the factor turned off)
    allowed, why = locked.verify_is_allowed()
    if not allowed:
        return _Outcome(False, wait=_seconds_until(why))
    if not locked.verify_token(code):
        return _Outcome(False)
    if isinstance(locked, StaticDevice):
        left = locked.token_set.count()
        audit.record(actor=user, action="auth.recovery_code_used", target=user, changes={"recovery_codes_left": left})
    return _Outcome(True)


def _seconds_until(why: dict[str, Any] | None) -> int:
    if why and why.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS and why.get("locked_until"):
        return max(int((why["locked_until"] - timezone.now()).total_seconds()) + 1, 1)
    return 1


def _kind(device: Device | None) -> str:
    if isinstance(device, TOTPDevice):
        return "totp"
    if isinstance(device, StaticDevice):
        return "recovery_code"
    return "no_device"


@transaction.atomic(durable=True)
def _audit_failure(*, user: User, kind: str) -> None:
    audit.record(actor=user, action="auth.otp_failed", target=user, changes={"kind": kind})


# --- The per-user limit on wrong codes ------------------------------------------------------------------------


class _OtpFailureRate(SimpleRateThrottle):
    """Only DRF's rate parsing and clock (as the sign-in's limits read them); the counting is below."""

    # Set by SimpleRateThrottle.__init__ from the rate (its stubs do not declare them).
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        return str(settings.OTP_THROTTLE_RATE)


def _reserve_failure(user: User) -> str:
    """Count this attempt as a wrong code before checking it (the key counted, to give it back when the code is
    right); `OtpThrottled` when the user's limit is spent. With the cache down the limit fails open."""
    rate = _OtpFailureRate()
    duration = rate.duration or 60
    now = int(rate.timer())
    start = now - now % duration
    key = f"otp_failures:{user.pk}:{start}"
    count = bump_counter(cache, key, duration + 1)
    if count is not None and count > (rate.num_requests or 0):
        _give_back(key)
        raise OtpThrottled(max(start + duration - now, 1))
    return key


def _give_back(key: str) -> None:
    with suppress(ValueError):  # expired meanwhile: nothing left to give back
        cache.decr(key)
