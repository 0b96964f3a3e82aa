"""What the users endpoints share: the `WWW-Authenticate` of the open endpoints, the credential
throttles and the documented error answers (their body is always the `Error` component, apps/core/http/schema.py)."""

from typing import TYPE_CHECKING

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.schema import ERROR

from .throttles import LoginAddressRateThrottle, LoginEmailRateThrottle

if TYPE_CHECKING:  # the mixins here go on APIView subclasses; at run time they stay plain classes
    from rest_framework.views import APIView as APIViewBase
else:
    APIViewBase = object

NOT_FOUND = OpenApiResponse(ERROR, description="No user with this id.")
NO_CONTENT = OpenApiResponse(None, description="Done; no body.")
BAD_CREDENTIALS = OpenApiResponse(
    ERROR, description="Wrong email or password, or a deactivated account (one answer for all)."
)
SIGN_IN_REFUSED = OpenApiResponse(
    ERROR,
    description="`code` says why: `invalid_credentials` (wrong email or password, or a deactivated account: one "
    "answer for all), `otp_required` (the password is right and the account has two-factor authentication: send "
    "`otp` too) or `otp_invalid` (the password is right, the code is not).",
)
OTP_THROTTLED = OpenApiResponse(
    ERROR,
    description="Too many requests or wrong codes (`code` `otp_throttled` for the codes: the user's limit "
    "`THROTTLE_RATE_OTP`, or the device's backoff); `Retry-After` says how many seconds to wait.",
)
DEAD_REFRESH = OpenApiResponse(
    ERROR,
    description="The refresh token is blacklisted (already used or signed out), expired or forged, "
    "or its user is deactivated.",
)
RETRY_AFTER = OpenApiParameter(
    "Retry-After",
    OpenApiTypes.INT,
    OpenApiParameter.HEADER,
    response=[429],
    description="Seconds to wait before the next attempt.",
)
WWW_AUTHENTICATE = OpenApiParameter(
    "WWW-Authenticate",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    response=[401],
    description='How to authenticate: `Bearer realm="api"`.',
)


class PublicAuthView(ValidatedInputMixin):
    """Open endpoints. They authenticate nobody, so a stale token sent along cannot block a sign-in."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    www_authenticate_realm = "api"

    def get_authenticate_header(self, request: Request) -> str:
        return f'{jwt_settings.AUTH_HEADER_TYPES[0]} realm="{self.www_authenticate_realm}"'


class CredentialThrottledMixin(APIViewBase):
    """Adds the per-email and per-address `login` throttles to the global anon/user ones.

    They are checked first, and the first one that refuses ends the check: DRF would count the attempt against
    every other limit too, a round trip to the cache each, for a request that is refused anyway (what an attacker
    who guesses on sends most)."""

    throttle_bucket: str
    credential_throttle_classes: tuple[type[BaseThrottle], ...] = (LoginEmailRateThrottle, LoginAddressRateThrottle)

    def get_throttles(self) -> list[BaseThrottle]:
        credential = [throttle() for throttle in self.credential_throttle_classes]
        return [*credential, *super().get_throttles()]

    def check_throttles(self, request: Request) -> None:
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):
                # DRF's own check_throttles passes None when no throttle knows the wait; its stubs say float.
                self.throttled(request, throttle.wait())  # type: ignore[arg-type]
