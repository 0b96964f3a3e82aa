"""The pages the verification and reset emails link to when no FRONTEND_URL is set: plain Django forms (no
JavaScript) that call the same services as `POST /api/v1/auth/verify-email/` and `.../password/reset/confirm/`.

Verification waits for a button press: a mail scanner that follows the link must not verify the address."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from ..accounts import services


class NewPasswordForm(forms.Form):
    new_password = forms.CharField(label="New password", widget=forms.PasswordInput, strip=False)
    again = forms.CharField(label="The same again", widget=forms.PasswordInput, strip=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("again"):
            raise ValidationError("The two passwords differ.")
        return data


def _link(request: HttpRequest) -> dict[str, str]:
    source = request.POST if request.method == "POST" else request.GET
    return {"uid": source.get("uid", ""), "token": source.get("token", "")}


def _problems(error: ValidationError) -> list[str]:
    return (
        [message for messages in error.message_dict.values() for message in messages]
        if hasattr(error, "error_dict")
        else list(error.messages)
    )


class VerifyEmailPage(View):
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "users/pages/verify_email.html", {"link": _link(request)})

    def post(self, request: HttpRequest) -> HttpResponse:
        link = _link(request)
        try:
            services.user_verify_email(**link)
        except ValidationError as error:
            context = {"link": link, "problems": _problems(error)}
            return render(request, "users/pages/verify_email.html", context, status=400)
        return render(request, "users/pages/done.html", {"title": "Email verified", "what": "Your email is verified."})


class ResetPasswordPage(View):
    http_method_names = ["get", "post", "head", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return render(request, "users/pages/reset_password.html", {"link": _link(request), "form": NewPasswordForm()})

    def post(self, request: HttpRequest) -> HttpResponse:
        link, form = _link(request), NewPasswordForm(request.POST)
        problems: list[str] = []
        if form.is_valid():
            try:
                services.user_reset_password(**link, new_password=form.cleaned_data["new_password"])
            except ValidationError as error:
                problems = _problems(error)
            else:
                what = "Your password is changed. Sign in with the new one; every other session was signed out."
                return render(request, "users/pages/done.html", {"title": "Password changed", "what": what})
        context = {"link": link, "form": form, "problems": problems}
        return render(request, "users/pages/reset_password.html", context, status=400)
