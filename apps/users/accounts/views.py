"""The caller's own account: sign-up, the email links, password change and reset, profile and activity."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.api import ValidatedInputMixin
from apps.core.models import AuditEvent
from apps.core.observability.context import request_client_ip

from .. import selectors
from ..api import (
    NO_CONTENT,
    RETRY_AFTER,
    CredentialThrottledMixin,
    PublicAuthView,
)
from ..request_user import request_user
from ..serializers import (
    AcceptedSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UidTokenSerializer,
    UserActivitySerializer,
    UserProfileSerializer,
    UserSerializer,
)
from . import services


class RegisterView(PublicAuthView):
    """Create an account.

    The new user has the `user` role and is not verified yet; a verification email with a one-time link is sent
    in the background. Fields a client may not set (`role`, `is_verified`, `account_id`, …) are ignored.
    """

    serializer_class = RegisterSerializer

    @extend_schema(
        operation_id="auth_register",
        responses={201: UserSerializer},
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**self.get_valid_data(request), site=request.build_absolute_uri("/"))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class VerifyEmailView(PublicAuthView):
    """Confirm an email address with the `uid` and `token` from the verification email's link.

    The token works once: after the user is verified it is a 400, like a forged or expired one. Wrong links count
    per client address and per account like failed sign-ins (`THROTTLE_RATE_LOGIN`, counters of their own shared
    with the password-reset links): past the limit the answer is 429 with `Retry-After`, the token unchecked.
    """

    serializer_class = UidTokenSerializer

    @extend_schema(
        operation_id="auth_verify_email",
        parameters=[RETRY_AFTER],
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request) -> Response:
        services.user_verify_email(**self.get_valid_data(request), address=request_client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(ValidatedInputMixin):
    """Change the caller's password. The old password must be right and the new one pass the password rules.

    A wrong old password counts as a failed sign-in of the account from this address (`THROTTLE_RATE_LOGIN`, the
    login's counters): past the limit the answer is 429 with `Retry-After`, and the old password is not checked.

    The account is signed out everywhere: every refresh token it holds is revoked, and every password-reset link
    already emailed stops working. The answer is a fresh access and refresh token for this session; access tokens
    issued before stay valid until they expire (minutes).
    """

    serializer_class = PasswordChangeSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_password_change",
        parameters=[RETRY_AFTER],
        responses={200: TokenPairSerializer},
    )
    def post(self, request: Request) -> Response:
        data = self.get_valid_data(request)
        tokens = services.user_change_password(user=request_user(request), address=request_client_ip(request), **data)
        return Response(tokens)


class PasswordResetView(CredentialThrottledMixin, PublicAuthView):
    """Ask for a password-reset email.

    The answer is 202 whether or not an account has this email, so it tells nobody which emails are registered.
    If an active account has it, an email with a one-time link goes out in the background. Attempts are counted
    per email and per client address like sign-ins (429 with `Retry-After` past the limit).
    """

    serializer_class = PasswordResetSerializer
    throttle_bucket = "password_reset"

    @extend_schema(
        operation_id="auth_password_reset",
        parameters=[RETRY_AFTER],
        responses={202: AcceptedSerializer},
    )
    def post(self, request: Request) -> Response:
        services.user_request_password_reset(**self.get_valid_data(request), site=request.build_absolute_uri("/"))
        detail = "If an account has this email, a password reset link has been sent to it."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAuthView):
    """Set a new password with the `uid` and `token` from the reset email's link.

    The token works once (it is bound to the old password); the account's refresh tokens are revoked, so every
    session must sign in again. Wrong links are limited as for `POST /api/v1/auth/verify-email/` (429 with
    `Retry-After`, the token unchecked).
    """

    serializer_class = PasswordResetConfirmSerializer

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        parameters=[RETRY_AFTER],
        responses={204: NO_CONTENT},
    )
    def post(self, request: Request) -> Response:
        services.user_reset_password(**self.get_valid_data(request), address=request_client_ip(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(ValidatedInputMixin):
    """The caller's own account. Only `full_name` can be changed here; other fields in the body are ignored."""

    serializer_class = UserProfileSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="users_me_retrieve", responses={200: UserSerializer})
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request_user(request)).data)

    @extend_schema(
        operation_id="users_me_partial_update",
        request=UserProfileSerializer,
        responses={200: UserSerializer},
    )
    def patch(self, request: Request) -> Response:
        user = request_user(request)
        data = self.get_valid_data(request, instance=user, partial=True)
        if "full_name" in data:
            user = services.user_update_profile(user=user, full_name=data["full_name"])
        return Response(UserSerializer(user).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="users_me_activity_list",
        responses={200: UserActivitySerializer(many=True)},
    )
)
class MyActivityView(ListAPIView):
    """The caller's own audit trail, newest first: sign-ins, password changes, and every write they made."""

    serializer_class = UserActivitySerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.user_activity(user=request_user(self.request))
