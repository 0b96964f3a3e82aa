from django.urls import include, path
from rest_framework.routers import SimpleRouter

from . import views

router = SimpleRouter()
router.register("users", views.UserViewSet, basename="user")

urlpatterns = [
    path("auth/register/", views.RegisterView.as_view(), name="auth-register"),
    path("auth/login/", views.LoginView.as_view(), name="auth-login"),
    path("auth/refresh/", views.RefreshView.as_view(), name="auth-refresh"),
    path("auth/logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("auth/verify-email/", views.VerifyEmailView.as_view(), name="auth-verify-email"),
    path("auth/password/change/", views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("auth/password/reset/", views.PasswordResetView.as_view(), name="auth-password-reset"),
    path("auth/password/reset/confirm/", views.PasswordResetConfirmView.as_view(), name="auth-password-reset-confirm"),
    path("auth/oidc/providers/", views.OidcProviderListView.as_view(), name="auth-oidc-providers"),
    path("auth/oidc/<str:provider>/", views.OidcSignInView.as_view(), name="auth-oidc-sign-in"),
    # Before the router, whose `users/{id}/` would otherwise be tried for "me" (its ids are digits only anyway).
    path("users/me/", views.MeView.as_view(), name="user-me"),
    path("users/me/activity/", views.MyActivityView.as_view(), name="user-me-activity"),
    path("", include(router.urls)),
]
