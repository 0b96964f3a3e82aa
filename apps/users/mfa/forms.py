"""The sign-in forms of the session doors (the admin, the browsable API): the password, then the second factor of
whoever enrolled one, checked by the same `mfa_check_sign_in` as the API's sign-in."""

from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from . import services

OTP_REQUIRED = "This account has two-factor authentication: enter a code of your authenticator app, or a recovery code."


def _otp_field() -> forms.CharField:
    return forms.CharField(
        required=False,
        max_length=64,
        label="Authenticator code",
        help_text="Only if you enrolled an authenticator app: its current code, or one of your recovery codes.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class MfaAuthenticationForm(AuthenticationForm):
    otp = _otp_field()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()  # the password (and, in the admin's form, the staff check)
        user = self.get_user()
        if user is None:  # username or password missing: their fields carry the errors
            return cleaned
        try:
            device = services.mfa_check_sign_in(user=user, otp=cleaned.get("otp") or None)
        except services.OtpRequired:
            raise ValidationError(OTP_REQUIRED, code=services.OtpRequired.code) from None
        except (services.OtpInvalid, services.OtpThrottled) as refused:
            raise ValidationError(refused.detail, code=refused.code) from None
        if device is not None:
            # django-otp's user_logged_in receiver stores it in the session (its own attribute, not a field).
            user.otp_device = device  # type: ignore[attr-defined]
        return cleaned


class MfaAdminAuthenticationForm(MfaAuthenticationForm, AdminAuthenticationForm):
    pass
