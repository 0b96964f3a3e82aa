"""What every users endpoint shares: validated input, 401s with `WWW-Authenticate`, the credential throttles and
the documented error answers."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from apps.core.api import ValidatedInputMixin
from apps.core.exceptions import ApplicationError

from .serializers import AuthErrorSerializer
from .throttles import LoginAddressRateThrottle, LoginEmailRateThrottle

VALIDATION_ERROR = OpenApiResponse(
    OpenApiTypes.OBJECT, description="Invalid input: an object of field name → list of messages."
)
UNAUTHENTICATED = OpenApiResponse(
    AuthErrorSerializer, description="No valid access token (`WWW-Authenticate` says how)."
)
FORBIDDEN = OpenApiResponse(AuthErrorSerializer, description="Signed in, but not an admin.")
NOT_FOUND = OpenApiResponse(AuthErrorSerializer, description="No user with this id.")
THROTTLED = OpenApiResponse(
    AuthErrorSerializer, description="Too many requests; `Retry-After` says how many seconds to wait."
)
NO_CONTENT = OpenApiResponse(None, description="Done; no body.")
BAD_CREDENTIALS = OpenApiResponse(
    AuthErrorSerializer, description="Wrong email or password, or a deactivated account (one answer for all)."
)
DEAD_REFRESH = OpenApiResponse(
    AuthErrorSerializer,
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


class UsersAPIMixin(ValidatedInputMixin):
    """What every users endpoint shares: validated input, and 401s that carry `WWW-Authenticate`."""

    def handle_exception(self, exc: Exception) -> Response:
        # A domain 401 (bad credentials, a dead refresh token) goes through DRF's AuthenticationFailed, which adds
        # the WWW-Authenticate header that a 401 must carry.
        if isinstance(exc, ApplicationError) and exc.status_code == status.HTTP_401_UNAUTHORIZED:
            exc = AuthenticationFailed({"detail": exc.detail, "code": exc.code})
        return super().handle_exception(exc)


class PublicAuthView(UsersAPIMixin):
    """Open endpoints. They authenticate nobody, so a stale token sent along cannot block a sign-in."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    www_authenticate_realm = "api"

    def get_authenticate_header(self, request: Request) -> str:
        return f'{jwt_settings.AUTH_HEADER_TYPES[0]} realm="{self.www_authenticate_realm}"'


class CredentialThrottledMixin:
    """Adds the per-email and per-address `login` throttles to the global anon/user ones.

    They are checked first, and the first one that refuses ends the check: DRF would count the attempt against
    every other limit too, a round trip to the cache each, for a request that is refused anyway (what an attacker
    who guesses on sends most)."""

    throttle_bucket: str

    def get_throttles(self) -> list[BaseThrottle]:
        return [LoginEmailRateThrottle(), LoginAddressRateThrottle(), *super().get_throttles()]  # type: ignore[misc]

    def check_throttles(self, request: Request) -> None:
        for throttle in self.get_throttles():
            if not throttle.allow_request(request, self):  # type: ignore[arg-type]
                self.throttled(request, throttle.wait())  # type: ignore[attr-defined]
