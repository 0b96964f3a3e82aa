"""The sign-in, token refresh and sign-out endpoints."""

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework_simplejwt.tokens import Token

from apps.core.http.api import ValidatedInputMixin

from ..api import (
    DEAD_REFRESH,
    NO_CONTENT,
    OTP_THROTTLED,
    RETRY_AFTER,
    SIGN_IN_REFUSED,
    WWW_AUTHENTICATE,
    PublicAuthView,
)
from ..request_user import request_user
from ..serializers import LoginSerializer, RefreshInputSerializer, TokenPairSerializer
from . import services


class LoginView(PublicAuthView):
    """Sign in with email and password; answers an access token and a refresh token.

    A wrong email, a wrong password and a deactivated account all get the same 401. Failed sign-ins are counted
    (`THROTTLE_RATE_LOGIN`) per email from one client address, per client address, and, ten times looser, per
    email from anywhere (which never holds back an address the account signed in from before); past a limit the
    answer is 429 with `Retry-After`, and the password is not looked at. An attempt takes its place in the counts
    before its password is checked, so concurrent guesses cannot overshoot a limit. The admin's and the browsable
    API's login forms and the password change share these counters.

    An account with two-factor authentication (`/api/v1/auth/2fa/`) also sends `otp`: a code of its authenticator
    app, or one of its recovery codes (each works once). Without it the answer is 401 `otp_required`, with a wrong
    one 401 `otp_invalid`; wrong codes are limited per user (`THROTTLE_RATE_OTP`, then 429 `otp_throttled`).
    """

    serializer_class = LoginSerializer

    @extend_schema(
        operation_id="auth_login",
        parameters=[RETRY_AFTER, WWW_AUTHENTICATE],
        responses={200: TokenPairSerializer, 401: SIGN_IN_REFUSED, 429: OTP_THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = self.get_valid_data(request)
        tokens = services.auth_login(
            email=data["email"], password=data["password"], otp=data.get("otp"), request=request._request
        )
        return Response(tokens)


class RefreshView(PublicAuthView):
    """Trade a refresh token for a new access token and a new refresh token.

    The refresh token presented is blacklisted: using it again is a 401, as is an expired or forged one, or one
    of a deactivated user.
    """

    serializer_class = RefreshInputSerializer

    @extend_schema(
        operation_id="auth_refresh",
        parameters=[RETRY_AFTER, WWW_AUTHENTICATE],
        responses={200: TokenPairSerializer, 401: DEAD_REFRESH},
    )
    def post(self, request: Request) -> Response:
        return Response(services.auth_refresh(refresh=self.get_valid_data(request)["refresh"]))


class LogoutView(ValidatedInputMixin):
    """Sign out: the given refresh token (one of the caller's own) is blacklisted, and the access token in use is
    refused from now on (401 `token_revoked`). The account's other sessions stay signed in.

    A refresh token that is not the caller's, malformed, expired or already blacklisted is a 400 on `refresh`.
    """

    serializer_class = RefreshInputSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request) -> Response:
        access = request.auth if isinstance(request.auth, Token) else None  # None for a session (browsable API)
        services.auth_logout(user=request_user(request), refresh=self.get_valid_data(request)["refresh"], access=access)
        return Response(status=status.HTTP_204_NO_CONTENT)
