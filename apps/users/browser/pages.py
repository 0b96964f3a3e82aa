"""The pages the verification and reset emails link to when no FRONTEND_URL is set: plain Django forms (no
JavaScript) that call the same services as `POST /api/v1/auth/verify-email/` and `.../password/reset/confirm/`.

Verification waits for a button press: a mail scanner that follows the link must not verify the address. A reset
link that no longer works (used, expired, or cut short) says so as soon as it is opened, with a form asking for a
new one: the service and the throttles (same counters) of `POST /api/v1/auth/password/reset/`."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.views import View
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from apps.core.observability.context import request_client_ip

from ..accounts import services
from ..login_guard import SignInThrottled, too_many_failures
from ..throttles import LoginAddressRateThrottle, LoginEmailRateThrottle

INVALID_LINK_TEMPLATE = "users/pages/reset_link_invalid.html"
INVALID_LINK_HEADING = "This reset link no longer works"
NEW_LINK_HEADING = "Ask for a new password reset link"
SENT = "If an account has this email, a new password reset link has been sent to it."


class _PasswordResetBucket:
    """The counters of `POST /api/v1/auth/password/reset/` (its view's `throttle_bucket`): one limit for both doors."""

    throttle_bucket = "password_reset"


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(label="New password", widget=forms.PasswordInput, strip=False)
    again = forms.CharField(label="The same again", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("again"):
            raise ValidationError("The two passwords differ.")
        return data


class NewLinkForm(forms.Form):
    email = forms.EmailField(label="Your email")


def _reset_request_wait(request: HttpRequest) -> float | None:
    """None when the API's reset-request throttles let this request through (and count it), else seconds to wait."""
    api_request = Request(request, parsers=[FormParser(), MultiPartParser()])
    for throttle_class in (LoginEmailRateThrottle, LoginAddressRateThrottle):
        throttle = throttle_class()
        if not throttle.allow_request(api_request, _PasswordResetBucket()):  # type: ignore[arg-type]  # a bucket
            return throttle.wait() or 60.0
    return None


def _link(request: HttpRequest) -> dict[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return {"uid": source.get("uid", ""), "token": source.get("token", "")}


def _problems(error: ValidationError) -> list[str]:
    return (
        [message for messages in error.message_dict.values() for message in messages]
        if hasattr(error, "error_dict")
        else list(error.messages)
    )


class _LinkCheckLimited(View):
    """A page that checks an emailed link's token: past the link guard's limit, a plain-text 429."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except SignInThrottled as refused:
            return too_many_failures(int(refused.wait or 1), what="wrong or expired links")


class VerifyEmailPage(_LinkCheckLimited):
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "users/pages/verify_email.html", {"link": _link(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        link = _link(request)
        try:
            services.user_verify_email(**link, address=request_client_ip(request))
        except ValidationError as error:
            context = {"link": link, "problems": _problems(error)}
            return render(request, "users/pages/verify_email.html", context, status=400)
        return render(request, "users/pages/done.html", {"title": "Email verified", "what": "Your email is verified."})


class ResetPasswordPage(_LinkCheckLimited):
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        link = _link(request)
        if not services.user_reset_link_works(**link, address=request_client_ip(request)):
            return _invalid_link(request, NewLinkForm())
        return render(request, "users/pages/reset_password.html", {"link": link, "form": NewPasswordForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        link, form = _link(request), NewPasswordForm(request.POST)
        problems: list[str] = []
        if form.is_valid():
            try:
                services.user_reset_password(
                    **link, new_password=form.cleaned_data["new_password"], address=request_client_ip(request)
                )
            except ValidationError as error:
                if "token" in getattr(error, "error_dict", {}) or "uid" in getattr(error, "error_dict", {}):
                    return _invalid_link(request, NewLinkForm(), status=400)
                problems = _problems(error)
            else:
                what = "Your password is changed. Sign in with the new one; every other session was signed out."
                return render(request, "users/pages/done.html", {"title": "Password changed", "what": what})
        context = {"link": link, "form": form, "problems": problems}
        return render(request, "users/pages/reset_password.html", context, status=400)


class NewResetLinkPage(View):
    """Asks for a new reset link from the page of a link that no longer works."""

    http_method_names = ["get", "head", "post", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        """The same form again: "Check your email" is answered at this address, and a reload or a return to it must
        not be a bare 405."""
        return _invalid_link(request, NewLinkForm(), heading=NEW_LINK_HEADING)

    def post(self, request: HttpRequest) -> HttpResponse:
        wait = _reset_request_wait(request)
        if wait is not None:
            problem = f"Too many requests for a reset link. Try again in {int(wait) + 1} seconds."
            return _invalid_link(request, NewLinkForm(request.POST), status=429, problems=[problem])
        form = NewLinkForm(request.POST)
        if not form.is_valid():
            return _invalid_link(request, form, status=400)
        services.user_request_password_reset(email=form.cleaned_data["email"], site=request.build_absolute_uri("/"))
        return render(request, "users/pages/done.html", {"title": "Check your email", "what": SENT})


def _invalid_link(
    request: HttpRequest,
    form: NewLinkForm,
    *,
    status: int = 200,
    problems: list[str] | None = None,
    heading: str = INVALID_LINK_HEADING,
) -> HttpResponse:
    context = {"form": form, "problems": problems or [], "heading": heading}
    return render(request, INVALID_LINK_TEMPLATE, context, status=status)
