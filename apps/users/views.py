"""The users and auth endpoints of API.md. Views shape HTTP; the rules live in services.py."""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import filters, mixins, status, viewsets
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.generics import GenericAPIView, ListAPIView
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.settings import api_settings as jwt_settings

from apps.core.exceptions import ApplicationError
from apps.core.models import AuditEvent
from apps.core.permissions import IsAdminRole

from . import oidc, selectors, services
from .filters import UserFilter
from .models import User
from .serializers import (
    AcceptedSerializer,
    AuthErrorSerializer,
    LoginSerializer,
    OidcProviderSerializer,
    OidcSignInSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshInputSerializer,
    RegisterSerializer,
    TokenPairSerializer,
    UidTokenSerializer,
    UserActivitySerializer,
    UserAdminUpdateSerializer,
    UserProfileSerializer,
    UserSerializer,
)
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


class UsersAPIMixin:
    """What every users endpoint shares: validated input, and 401s that carry `WWW-Authenticate`."""

    def get_valid_data(self, request: Request) -> dict[str, Any]:
        serializer = self.get_serializer(data=request.data)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def handle_exception(self, exc: Exception) -> Response:
        # A domain 401 (bad credentials, a dead refresh token) goes through DRF's AuthenticationFailed, which adds
        # the WWW-Authenticate header that a 401 must carry.
        if isinstance(exc, ApplicationError) and exc.status_code == status.HTTP_401_UNAUTHORIZED:
            exc = AuthenticationFailed({"detail": exc.detail, "code": exc.code})
        return super().handle_exception(exc)  # type: ignore[misc]


class PublicAuthView(UsersAPIMixin, GenericAPIView):
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


class RegisterView(PublicAuthView):
    """Create an account.

    The new user has the `user` role and is not verified yet; a verification email with a one-time link is sent
    in the background. Fields a client may not set (`role`, `is_verified`, `account_id`, …) are ignored.
    """

    serializer_class = RegisterSerializer

    @extend_schema(
        operation_id="auth_register",
        responses={201: UserSerializer, 400: VALIDATION_ERROR, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        user = services.user_register(**self.get_valid_data(request))
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)


class LoginView(CredentialThrottledMixin, PublicAuthView):
    """Sign in with email and password; answers an access token and a refresh token.

    A wrong email, a wrong password and a deactivated account all get the same 401. Attempts are counted per
    email and per client address (`THROTTLE_RATE_LOGIN`); past the limit the answer is 429 with `Retry-After`,
    before the password is even looked at.
    """

    serializer_class = LoginSerializer
    throttle_bucket = "login"

    @extend_schema(
        operation_id="auth_login",
        parameters=[RETRY_AFTER, WWW_AUTHENTICATE],
        responses={200: TokenPairSerializer, 400: VALIDATION_ERROR, 401: BAD_CREDENTIALS, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        data = self.get_valid_data(request)
        tokens = services.auth_login(email=data["email"], password=data["password"], request=request._request)
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
        responses={200: TokenPairSerializer, 400: VALIDATION_ERROR, 401: DEAD_REFRESH, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        return Response(services.auth_refresh(refresh=self.get_valid_data(request)["refresh"]))


class LogoutView(UsersAPIMixin, GenericAPIView):
    """Sign out: the given refresh token (one of the caller's own) is blacklisted.

    The access token in use stays valid until it expires (minutes); a refresh token that is not the caller's,
    malformed, expired or already blacklisted is a 400 on `refresh`.
    """

    serializer_class = RefreshInputSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_logout",
        responses={204: NO_CONTENT, 400: VALIDATION_ERROR, 401: UNAUTHENTICATED, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        services.auth_logout(user=request.user, refresh=self.get_valid_data(request)["refresh"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class VerifyEmailView(PublicAuthView):
    """Confirm an email address with the `uid` and `token` from the verification email's link.

    The token works once: after the user is verified it is a 400, like a forged or expired one.
    """

    serializer_class = UidTokenSerializer

    @extend_schema(
        operation_id="auth_verify_email",
        responses={204: NO_CONTENT, 400: VALIDATION_ERROR, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        services.user_verify_email(**self.get_valid_data(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(UsersAPIMixin, GenericAPIView):
    """Change the caller's password. The old password must be right and the new one pass the password rules."""

    serializer_class = PasswordChangeSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="auth_password_change",
        responses={204: NO_CONTENT, 400: VALIDATION_ERROR, 401: UNAUTHENTICATED, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        services.user_change_password(user=request.user, **self.get_valid_data(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


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
        responses={202: AcceptedSerializer, 400: VALIDATION_ERROR, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        services.user_request_password_reset(**self.get_valid_data(request))
        detail = "If an account has this email, a password reset link has been sent to it."
        return Response({"detail": detail}, status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(PublicAuthView):
    """Set a new password with the `uid` and `token` from the reset email's link.

    The token works once (it is bound to the old password); the account's refresh tokens are revoked, so every
    session must sign in again.
    """

    serializer_class = PasswordResetConfirmSerializer

    @extend_schema(
        operation_id="auth_password_reset_confirm",
        responses={204: NO_CONTENT, 400: VALIDATION_ERROR, 429: THROTTLED},
    )
    def post(self, request: Request) -> Response:
        services.user_reset_password(**self.get_valid_data(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MeView(UsersAPIMixin, GenericAPIView):
    """The caller's own account. Only `full_name` can be changed here; other fields in the body are ignored."""

    serializer_class = UserProfileSerializer
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="users_me_retrieve", responses={200: UserSerializer, 401: UNAUTHENTICATED, 429: THROTTLED}
    )
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        operation_id="users_me_partial_update",
        request=UserProfileSerializer,
        responses={200: UserSerializer, 400: VALIDATION_ERROR, 401: UNAUTHENTICATED, 429: THROTTLED},
    )
    def patch(self, request: Request) -> Response:
        serializer = UserProfileSerializer(request.user, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        user = request.user
        if "full_name" in serializer.validated_data:
            user = services.user_update_profile(user=user, full_name=serializer.validated_data["full_name"])
        return Response(UserSerializer(user).data)


@extend_schema_view(
    get=extend_schema(
        operation_id="users_me_activity_list",
        responses={200: UserActivitySerializer(many=True), 401: UNAUTHENTICATED, 429: THROTTLED},
    )
)
class MyActivityView(ListAPIView):
    """The caller's own audit trail, newest first: sign-ins, password changes, and every write they made."""

    serializer_class = UserActivitySerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return selectors.user_activity(user=self.request.user)


@extend_schema_view(
    list=extend_schema(
        responses={200: UserSerializer(many=True), 401: UNAUTHENTICATED, 403: FORBIDDEN, 429: THROTTLED}
    ),
    retrieve=extend_schema(
        responses={200: UserSerializer, 401: UNAUTHENTICATED, 403: FORBIDDEN, 404: NOT_FOUND, 429: THROTTLED}
    ),
    partial_update=extend_schema(
        request=UserAdminUpdateSerializer,
        responses={
            200: UserSerializer,
            400: VALIDATION_ERROR,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            429: THROTTLED,
        },
    ),
    destroy=extend_schema(
        responses={
            204: NO_CONTENT,
            400: VALIDATION_ERROR,
            401: UNAUTHENTICATED,
            403: FORBIDDEN,
            404: NOT_FOUND,
            429: THROTTLED,
        }
    ),
)
class UserViewSet(UsersAPIMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """User management, for admins only."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated, IsAdminRole]
    filter_backends = [DjangoFilterBackend, filters.SearchFilter]
    filterset_class = UserFilter
    search_fields = ["email", "full_name"]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        return selectors.user_list()

    def get_serializer_class(self) -> type[Serializer]:
        if self.action == "partial_update":
            return UserAdminUpdateSerializer
        return UserSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every user, active or not, oldest first. `search` matches email and name; `role`, `is_active` and
        `is_verified` filter."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One user, active or not."""
        return super().retrieve(request, *args, **kwargs)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a user's `full_name`, `role` or `is_active`; other fields in the body are ignored.

        A role change and a (de)activation are audited and published as events. An admin cannot change their own
        role or deactivate themselves, and a superuser is always an admin (400 on `role` or `is_active`).
        """
        target = self.get_object()
        user = services.user_update(user=target, by=request.user, **self.get_valid_data(request))
        return Response(UserSerializer(user).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Deactivate a user; the row stays. Their access tokens stop working at once and their refresh tokens
        are blacklisted. Deactivating an inactive user again is a 204 too; deactivating yourself is a 400."""
        services.user_deactivate(user=self.get_object(), by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- OpenID Connect -------------------------------------------------------------------------------------------

OIDC_FAILED = OpenApiResponse(
    OpenApiTypes.OBJECT,
    description="Invalid input (field name → list of messages), or the sign-in failed: "
    '`{"detail", "code", "error"?}` with `code` one of `oidc_sign_in_failed` (a bad, used or forged code, a '
    "wrong `redirect_uri` or `code_verifier`, an ID token that does not verify: signature, issuer, audience, "
    "expiry, nonce; `error` carries the provider's OAuth error or the token check that failed) or "
    "`oidc_email_unverified` (the email belongs to an existing account, and the provider does not say it is "
    "verified).",
)
OIDC_DEACTIVATED = OpenApiResponse(AuthErrorSerializer, description="The account is deactivated.")
OIDC_UNKNOWN = OpenApiResponse(AuthErrorSerializer, description="No provider with this id is configured.")
OIDC_RACE = OpenApiResponse(
    AuthErrorSerializer, description="A concurrent first sign-in of the same account is in progress; try again."
)
OIDC_PROVIDER_DOWN = OpenApiResponse(
    AuthErrorSerializer,
    description="The provider is unreachable, timed out, or answered something that is not OpenID Connect "
    "(`code`: `oidc_provider_unavailable`). Nothing was changed; try again later.",
)


class OidcProviderListView(APIView):
    """The OpenID Connect providers you can sign in with (an empty list when none is configured).

    Start the authorization-code flow at `authorization_endpoint` with this `client_id` and `scopes`, a PKCE
    challenge (S256) and a nonce, then post the code to `/api/v1/auth/oidc/{id}/`. A provider whose discovery
    document cannot be fetched right now is left out of the list.
    """

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="auth_oidc_providers_list",
        responses={200: OidcProviderSerializer(many=True), 429: THROTTLED},
    )
    def get(self, request: Request) -> Response:
        return Response(OidcProviderSerializer(oidc.provider_list(), many=True).data)


class OidcSignInView(PublicAuthView):
    """Sign in with OpenID Connect: post the authorization code the provider redirected with.

    The code is exchanged at the provider with your PKCE `code_verifier`, and the ID token it answers is verified
    (signature from the provider's keys, issuer, audience, expiry, and `nonce` when you send one). The account is
    the one already linked to this provider's subject; else the one with the email the provider says is verified,
    which is then linked; else a new account, verified when the provider says the email is. Answers our own
    access and refresh tokens, as `/api/v1/auth/login/` does. Attempts are counted per client address.
    """

    serializer_class = OidcSignInSerializer
    throttle_bucket = "oidc"

    def get_throttles(self) -> list[BaseThrottle]:
        return [*super().get_throttles(), LoginAddressRateThrottle()]

    @extend_schema(
        operation_id="auth_oidc_sign_in",
        parameters=[
            OpenApiParameter(
                "provider", OpenApiTypes.STR, OpenApiParameter.PATH, description="A provider's `id` from the list."
            ),
            RETRY_AFTER,
            WWW_AUTHENTICATE,
        ],
        responses={
            200: TokenPairSerializer,
            400: OIDC_FAILED,
            401: OIDC_DEACTIVATED,
            404: OIDC_UNKNOWN,
            409: OIDC_RACE,
            429: THROTTLED,
            502: OIDC_PROVIDER_DOWN,
        },
    )
    def post(self, request: Request, provider: str) -> Response:
        oidc.get_provider(provider)  # an unknown provider is a 404 whatever the body
        data = self.get_valid_data(request)
        return Response(services.auth_oidc_sign_in(provider_id=provider, **data))
