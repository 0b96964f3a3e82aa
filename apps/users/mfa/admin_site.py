"""The admin site with a second factor: its login form asks staff who enrolled for a code, and with
`ADMIN_REQUIRE_2FA` a staff member without an authenticator is sent to enrol before any other admin page.

django-otp's `OTPAdminSite` is not used as it is: it always requires a verified device (no way to be optional for
`make run`), and its form checks the code itself, where the API's sign-in and this one must share `mfa_verify` (the
per-user limit on wrong codes and the audit of each). Nor is its `OTPMiddleware`: it sets `user.is_verified` to a
function, over our User's `is_verified` field (the email's), which a save of that user would then write. The session
remembers the device that verified it as django-otp does (`django_otp.login`), and `session_verified` reads it.
"""

import base64
import io
from typing import Any

import django_otp
from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.qr import write_qrcode_image

from ..models import User
from . import services
from .forms import MfaAdminAuthenticationForm


class MfaAdminSite(admin.AdminSite):
    login_form = MfaAdminAuthenticationForm
    login_template = "users/mfa/admin_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        """Staff, and verified by a second factor when they have one or when it is required."""
        if not super().has_permission(request):
            return False
        user = request.user
        if not isinstance(user, User):  # super() let only an active staff member through
            return False
        if session_verified(request, user):
            return True
        return not settings.ADMIN_REQUIRE_2FA and not services.mfa_enabled(user=user)

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        if request.method == "GET" and _needs_enrolment(request):
            return redirect("admin:mfa_enrol")
        response = super().login(request, extra_context)
        if request.method == "POST" and isinstance(response, HttpResponseRedirect) and _needs_enrolment(request):
            return redirect("admin:mfa_enrol")
        return response

    def get_urls(self) -> list[URLResolver | URLPattern]:
        enrol = login_required(never_cache(csrf_protect(self.enrol_view)), login_url="admin:login")
        # The admin's own log-out answers only a session it accepts (another goes to the index, so back to enrol):
        # staff sent to enrol, with no authenticator at hand, sign out here.
        sign_out = auth_views.LogoutView.as_view(next_page="admin:login")
        return [
            path("mfa/enrol/", enrol, name="mfa_enrol"),
            path("mfa/sign-out/", sign_out, name="mfa_sign_out"),
            *super().get_urls(),
        ]

    def enrol_view(self, request: HttpRequest) -> HttpResponse:
        """Enrol an authenticator app: its QR code and secret, then a first code, then the recovery codes (once)."""
        user = request.user
        if not isinstance(user, User) or not (user.is_active and user.is_staff):
            return redirect("admin:login")
        if services.mfa_enabled(user=user):
            return redirect("admin:index")
        device = services.mfa_setup(user=user, keep_pending=True)
        form = EnrolForm(request.POST or None)
        if form.is_valid():
            try:
                device, codes = services.mfa_confirm(user=user, code=form.cleaned_data["otp"])
            except ValidationError as wrong:  # a wrong code: the error is on `otp`
                form.add_error(None, wrong)
            except services.OtpThrottled as refused:
                form.add_error("otp", ValidationError(refused.detail, code=refused.code))
            else:
                django_otp.login(request, device)  # this session is verified by the code just given
                context = {**self.each_context(request), "title": "Recovery codes", "recovery_codes": codes}
                return TemplateResponse(request, "users/mfa/admin_recovery_codes.html", context)
        context = {
            **self.each_context(request),
            "title": "Set up two-factor authentication",
            "form": form,
            "otpauth_uri": device.config_url,
            "secret": base64.b32encode(device.bin_key).decode(),
            "qr_code": _qr_code_data_uri(device),
            "required": services.mfa_admin_needs_enrolment(user=user),
            "index_url": reverse("admin:index", current_app=self.name),
        }
        return TemplateResponse(request, "users/mfa/admin_enrol.html", context)


class EnrolForm(forms.Form):
    otp = forms.CharField(
        max_length=64,
        label="Code from the app",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def session_verified(request: HttpRequest, user: User) -> bool:
    """Whether this session was signed in with a second factor: the confirmed device of `user` it names."""
    persistent_id = request.session.get(DEVICE_ID_SESSION_KEY)
    device = Device.from_persistent_id(persistent_id) if isinstance(persistent_id, str) else None
    return device is not None and device.user_id == user.pk and bool(device.confirmed)


def _needs_enrolment(request: HttpRequest) -> bool:
    user = request.user
    return isinstance(user, User) and services.mfa_admin_needs_enrolment(user=user)


def _qr_code_data_uri(device: TOTPDevice) -> str:
    # Inline as a data: image (the Content-Security-Policy allows img-src data:): no second URL serves the secret.
    out = io.BytesIO()
    write_qrcode_image(device.config_url, out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode()
