from django.urls import path

from .pages import ResetPasswordPage, VerifyEmailPage

urlpatterns = [
    path("verify-email/", VerifyEmailPage.as_view(), name="account-verify-email"),
    path("reset-password/", ResetPasswordPage.as_view(), name="account-reset-password"),
]
