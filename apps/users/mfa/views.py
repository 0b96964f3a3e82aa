"""Two-factor authentication of one's own account: enrol an authenticator app, confirm it, turn it off.

Once confirmed, `POST /api/v1/auth/login/` asks for `otp` (a code of the app, or a recovery code) after the password.
"""

from base64 import b32encode

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.schema import ERROR
from apps.core.observability.context import request_client_ip

from ..api import NO_CONTENT, OTP_THROTTLED, RETRY_AFTER
from ..request_user import request_user
from ..serializers import (
    MfaCodeSerializer,
    MfaDisableSerializer,
    MfaRecoveryCodesSerializer,
    MfaSetupSerializer,
    MfaStatusSerializer,
)
from . import services

ALREADY_ON = OpenApiResponse(ERROR, description="Two-factor authentication is already on (`otp_already_enabled`).")
CODE_REFUSED = OpenApiResponse(
    ERROR, description="Invalid input, or the code is wrong, expired or already used (a message on `otp`)."
)


class MfaView(ValidatedInputMixin):
    """Whether your sign-ins ask for a second factor (GET), and turning it off (DELETE).

    DELETE needs proof that you hold the factor or the account: `otp` (a current code of the app, or a recovery
    code) or `password`. It removes the authenticator and every recovery code; sign-ins then take the password
    alone. Wrong codes and passwords are throttled per user (429 `otp_throttled`) and audited; a wrong password also
    counts as a failed sign-in of the account from this address, and past the login limit it is 429 `throttled`
    (the password unchecked).
    """

    permission_classes = [IsAuthenticated]
    serializer_class = MfaDisableSerializer

    @extend_schema(operation_id="auth_2fa_status", responses={200: MfaStatusSerializer})
    def get(self, request: Request) -> Response:
        user = request_user(request)
        enabled = services.mfa_enabled(user=user)
        left = services.mfa_recovery_codes_left(user=user) if enabled else 0
        return Response(MfaStatusSerializer({"enabled": enabled, "recovery_codes_left": left}).data)

    @extend_schema(
        operation_id="auth_2fa_disable",
        request=MfaDisableSerializer,
        parameters=[RETRY_AFTER],
        responses={
            204: NO_CONTENT,
            400: OpenApiResponse(
                ERROR,
                description="Neither `otp` nor `password` (`non_field_errors`), a wrong code (on `otp`) or a "
                "wrong password (on `password`).",
            ),
            409: OpenApiResponse(ERROR, description="Two-factor authentication is not on (`otp_not_enabled`)."),
            429: OTP_THROTTLED,
        },
    )
    def delete(self, request: Request) -> Response:
        data = self.get_valid_data(request)
        services.mfa_disable(
            user=request_user(request),
            code=data.get("otp"),
            password=data.get("password"),
            address=request_client_ip(request),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class MfaSetupView(ValidatedInputMixin):
    """Start enrolling an authenticator app: answers its `otpauth://` URI (show it as a QR code) and its secret.

    Nothing changes for sign-ins until `POST /api/v1/auth/2fa/confirm/` confirms a first code; starting again
    replaces an authenticator not confirmed yet.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = serializers.Serializer  # no body

    @extend_schema(
        operation_id="auth_2fa_setup",
        request=None,
        responses={200: MfaSetupSerializer, 409: ALREADY_ON},
    )
    def post(self, request: Request) -> Response:
        device = services.mfa_setup(user=request_user(request))
        secret = b32encode(device.bin_key).decode()
        return Response(MfaSetupSerializer({"otpauth_uri": device.config_url, "secret": secret}).data)


class MfaConfirmView(ValidatedInputMixin):
    """Confirm the authenticator being enrolled with a code it shows: from now on, sign-ins ask for a code.

    The answer carries ten recovery codes, each good for one sign-in without the app. They are shown this once.
    """

    permission_classes = [IsAuthenticated]
    serializer_class = MfaCodeSerializer

    @extend_schema(
        operation_id="auth_2fa_confirm",
        parameters=[RETRY_AFTER],
        responses={
            200: MfaRecoveryCodesSerializer,
            400: CODE_REFUSED,
            409: OpenApiResponse(
                ERROR,
                description="Already on (`otp_already_enabled`), or no authenticator being enrolled "
                "(`otp_not_set_up`: call the setup first).",
            ),
            429: OTP_THROTTLED,
        },
    )
    def post(self, request: Request) -> Response:
        data = self.get_valid_data(request)
        _device, codes = services.mfa_confirm(user=request_user(request), code=data["otp"])
        return Response(MfaRecoveryCodesSerializer({"recovery_codes": codes}).data)
