from django.urls import path
from rest_framework.routers import SimpleRouter

from .accounts.views import (
    MeView,
    MyActivityView,
    PasswordChangeView,
    PasswordResetConfirmView,
    PasswordResetView,
    RegisterView,
    VerifyEmailView,
)
from .admin_users.views import UserViewSet
from .auth.views import LoginView, LogoutView, RefreshView
from .mfa.views import MfaConfirmView, MfaSetupView, MfaView
from .oidc.views import OidcProviderListView, OidcSignInView

router = SimpleRouter()
router.register("users", UserViewSet, basename="user")

urlpatterns = [
    path("auth/register/", RegisterView.as_view(), name="auth-register"),
    path("auth/login/", LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("auth/verify-email/", VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/password/change/", PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset/", PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm/", PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/2fa/", MfaView.as_view(), name="auth-2fa"),
    path("auth/2fa/setup/", MfaSetupView.as_view(), name="auth-2fa-setup"),
    path("auth/2fa/confirm/", MfaConfirmView.as_view(), name="auth-2fa-confirm"),
    path("auth/oidc/providers/", OidcProviderListView.as_view(), name="auth-oidc-providers"),
    path("auth/oidc/<str:provider>/", OidcSignInView.as_view(), name="auth-oidc-sign-in"),
    # Before the router, whose `users/{id}/` would otherwise be tried for "me" (its ids are digits only anyway).
    path("users/me/", MeView.as_view(), name="user-me"),
    path("users/me/activity/", MyActivityView.as_view(), name="user-me-activity"),
    *router.urls,
]
