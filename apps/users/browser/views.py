"""Sign-in and sign-out for the browsable API (`/api-auth/`, the namespace DRF's pages link to), behind the same
login guard as `POST /api/v1/auth/login/` and the admin (one set of counters): a second door must not be an
unthrottled one."""

from typing import Any

from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.urls import path

from ..login_guard import SignInThrottled
from ..mfa.forms import MfaAuthenticationForm


class GuardedAuthenticationForm(MfaAuthenticationForm):
    """The sign-in form, with the guard's refusal (raised by authenticate()) as its error and its wait kept."""

    refused_for: int | None = None

    def clean(self) -> dict[str, Any]:
        try:
            return super().clean()
        except SignInThrottled as refused:
            self.refused_for = int(refused.wait or 1)
            message = f"Too many sign-in attempts. Try again in {self.refused_for} seconds."
            raise ValidationError(message, code="throttled") from None


class BrowsableAPILoginView(auth_views.LoginView):
    template_name = "rest_framework/login.html"
    # The session it makes is accepted by the API: the form asks for the second factor too.
    authentication_form = GuardedAuthenticationForm
    http_method_names = ["get", "post", "head", "options"]  # not FormView's PUT alias of POST

    def form_invalid(self, form: AuthenticationForm) -> HttpResponse:
        response = super().form_invalid(form)
        refused_for = getattr(form, "refused_for", None)
        if refused_for is not None:
            response.status_code = 429
            response["Retry-After"] = str(refused_for)
        return response


app_name = "rest_framework"
urlpatterns = [
    path("login/", BrowsableAPILoginView.as_view(), name="login"),
    # Without a `next`, back to its own sign-in page (not a setting: the admin's sign-out would follow that too).
    path("logout/", auth_views.LogoutView.as_view(next_page="rest_framework:login"), name="logout"),
]
