from django.urls import path

from .pages import NewResetLinkPage, ResetPasswordPage, VerifyEmailPage

urlpatterns = [
    path("verify-email/", VerifyEmailPage.as_view(), name="account-verify-email"),
    path("reset-password/", ResetPasswordPage.as_view(), name="account-reset-password"),
    path("reset-password/new-link/", NewResetLinkPage.as_view(), name="account-reset-password-new-link"),
]
