"""Sign-in and sign-out for the browsable API (`/api-auth/`, the namespace DRF's pages link to), with the same
per-email and per-address limits as `POST /api/v1/auth/login/`: a second door must not be an unthrottled one."""

from dataclasses import dataclass, field
from typing import Any, cast

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.request import Request
from rest_framework.views import APIView

from ..mfa.forms import MfaAuthenticationForm
from ..throttles import LoginAddressRateThrottle, LoginEmailRateThrottle


@dataclass
class _Attempt:
    """What the login throttles read of a sign-in: the email tried, and the request's META (client address)."""

    data: dict[str, str]
    META: dict[str, Any] = field(default_factory=dict)


class _SharedLoginBucket:
    throttle_bucket = "login"  # the API login's counters


class BrowsableAPILoginView(auth_views.LoginView):
    template_name = "rest_framework/login.html"
    authentication_form = MfaAuthenticationForm  # the session it makes is accepted by the API: ask for the 2nd factor
    http_method_names = ["get", "post", "head", "options"]  # not FormView's PUT alias of POST

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        attempt = cast(Request, _Attempt(data={"email": request.POST.get("username", "")}, META=request.META))
        bucket = cast(APIView, _SharedLoginBucket())
        for throttle in (LoginEmailRateThrottle(), LoginAddressRateThrottle()):
            if not throttle.allow_request(attempt, bucket):
                form = self.get_form()
                form.add_error(None, "Too many sign-in attempts. Try again in a minute.")
                response = self.render_to_response(self.get_context_data(form=form), status=429)
                response["Retry-After"] = str(int(throttle.wait() or 60))
                return response
        return super().post(request, *args, **kwargs)


app_name = "rest_framework"
urlpatterns = [
    path("login/", BrowsableAPILoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
