"""The caller's account's status callback settings: its default URL and its signing secret."""

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.formats import utc_iso
from apps.core.http.schema import ERROR
from apps.users.request_user import request_user

from ..models import CallbackSettings
from ..selectors import account_callback_settings
from ..serializers import CallbackUrlField
from .services import SettingsChange, callback_secret_rotate, callback_settings_update

if TYPE_CHECKING:
    pass

_EMAIL_NOT_VERIFIED = OpenApiResponse(ERROR, description="The caller's email is not verified (`email_not_verified`).")


class CallbackSettingsInput(serializers.Serializer):
    default_url = CallbackUrlField(
        allow_blank=True,
        help_text="Where status changes of messages without their own `status_callback` go; empty: nowhere.",
    )


class CallbackSettingsSerializer(serializers.Serializer):
    """The account's callback settings as answered (the schema of the answers; built by `_settings_data`)."""

    default_url = serializers.CharField()
    secret_set = serializers.BooleanField()
    secret_created_at = serializers.DateTimeField(allow_null=True)
    secret = serializers.CharField(
        required=False, help_text="Only in the answer that made it: keep it, it is never shown again."
    )


class CallbackSecretSerializer(serializers.Serializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once: keep it.")
    secret_created_at = serializers.DateTimeField(read_only=True)


def _settings_data(current: CallbackSettings | None, *, new_secret: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "default_url": current.default_url if current is not None else "",
        "secret_set": bool(current is not None and current.secret),
        "secret_created_at": utc_iso(current.secret_created_at) if current is not None else None,
    }
    if new_secret is not None:
        data["secret"] = new_secret
    return data


class CallbackSettingsView(ValidatedInputMixin, APIView):
    """Status callbacks of the caller's account.

    Every status change of a message (`sent`, `failed`, `delivered`, `undelivered`, `canceled`, `expired`) is POSTed
    as JSON `{"event_id", "message_id", "status", "attempts", "error", "time"}` to the message's `status_callback`, or
    else to this default URL. Each POST is signed: `X-Signature-Timestamp` (Unix seconds) and `X-Signature`, the hex
    HMAC-SHA256 of `<timestamp>.<body>` under the account's secret; check both, and refuse old timestamps. A
    receiver answers 2xx; anything else (or no answer within the callback timeout, 5 seconds unless the service is
    configured otherwise) is retried with exponential backoff for about a day. Events of one message arrive in
    order; an event may arrive twice (same `event_id`).
    """

    serializer_class = CallbackSettingsInput

    @extend_schema(
        tags=["messages"],
        summary="Get the account's status callback settings",
        responses={200: CallbackSettingsSerializer},
    )
    def get(self, request: Request) -> Response:
        """The default callback URL and whether a signing secret exists (the secret itself is never shown)."""
        return Response(_settings_data(account_callback_settings(account_id=request_user(request).account_id)))

    @extend_schema(
        tags=["messages"],
        summary="Set the account's default status callback URL",
        request=CallbackSettingsInput,
        responses={200: CallbackSettingsSerializer, 403: _EMAIL_NOT_VERIFIED},
    )
    def patch(self, request: Request) -> Response:
        """Set `default_url` (https; "" clears it). The first URL set also makes the signing secret, answered here
        once as `secret`."""
        user = request_user(request)
        data = self.get_valid_data(request)
        change = callback_settings_update(account_id=user.account_id, default_url=data["default_url"], by=user)
        return Response(_settings_data(change.settings, new_secret=change.new_secret))


class CallbackSecretView(APIView):
    """The signing secret of the caller's account's status callbacks."""

    @extend_schema(
        tags=["messages"],
        summary="Make a new status callback signing secret",
        request=None,
        responses={200: CallbackSecretSerializer, 403: _EMAIL_NOT_VERIFIED},
    )
    def post(self, request: Request) -> Response:
        """Replace the account's signing secret and answer it, this once. Callbacks not yet sent are signed with
        the new one from now on."""
        user = request_user(request)
        change: SettingsChange = callback_secret_rotate(account_id=user.account_id, by=user)
        return Response({"secret": change.new_secret, "secret_created_at": utc_iso(change.settings.secret_created_at)})
