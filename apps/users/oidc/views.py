"""The OpenID Connect endpoints: the providers to sign in with, and the sign-in itself."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.core.http.schema import ERROR

from ..api import RETRY_AFTER, WWW_AUTHENTICATE, PublicAuthView
from ..serializers import OidcProviderSerializer, OidcSignInSerializer, TokenPairSerializer
from ..throttles import LoginAddressRateThrottle
from . import client as oidc
from . import services

OIDC_FAILED = OpenApiResponse(
    ERROR,
    description="Invalid input (field name → list of messages), or the sign-in failed: "
    '`{"detail", "code", "error"?}` with `code` one of `oidc_sign_in_failed` (a bad, used or forged code, a '
    "wrong `redirect_uri` or `code_verifier`, an ID token that does not verify: signature, issuer, audience, "
    "expiry, nonce; `error` carries the provider's OAuth error or the token check that failed) or "
    "`oidc_email_unverified` (the email belongs to an existing account, and the provider does not say it is "
    "verified).",
)
OIDC_DEACTIVATED = OpenApiResponse(description="The account is deactivated.")
OIDC_UNKNOWN = OpenApiResponse(description="No provider with this id is configured.")
OIDC_RACE = OpenApiResponse(description="A concurrent first sign-in of the same account is in progress; try again.")
OIDC_PROVIDER_DOWN = OpenApiResponse(
    ERROR,
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
        responses={200: OidcProviderSerializer(many=True)},
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
                "provider",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="A provider's `id` from the list (never `providers`: that path is the list).",
                pattern=oidc.PROVIDER_ID_PATTERN,
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
            502: OIDC_PROVIDER_DOWN,
        },
    )
    def post(self, request: Request, provider: str) -> Response:
        oidc.get_provider(provider)  # an unknown provider is a 404 whatever the body
        data = self.get_valid_data(request)
        return Response(services.auth_oidc_sign_in(provider_id=provider, **data))
