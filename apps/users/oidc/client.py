"""OpenID Connect sign-in, the relying party's side: providers, discovery, the code exchange and the ID token.

Authlib does the protocol: discovery (`load_server_metadata`), the authorization-code exchange with the client's
PKCE verifier (`fetch_access_token`) and the ID token's verification (`parse_id_token`: signature against the
provider's JWKS, issuer, audience, expiry and nonce). This module adds what a stateless API needs around it:
providers read from `OIDC_PROVIDERS`, the discovery document and keys kept in the Django cache, a timeout on every
call, and each way a provider can fail turned into the API's JSON errors. It knows nothing of our users: the
services decide what a verified identity means.

It stays one module of about 300 lines because every part serves the one exchange, in the order it happens.
"""

import hashlib
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import requests
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.django_client import DjangoIntegration, DjangoOAuth2App
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured, ValidationError
from joserfc.errors import JoseError
from rest_framework import status

from apps.core.exceptions import ApplicationError

from ..models import normalize_email, validate_full_name

logger = logging.getLogger(__name__)

ID_TOKEN_LEEWAY_SECONDS = 60  # clock skew allowed between the provider and us on exp/iat/nbf
DEFAULT_SCOPES = ("openid", "email", "profile")
RESERVED_ID = "providers"
PROVIDER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")  # a URL path segment, and OidcIdentity.provider's length
# The same, as the schema's pattern for the `{provider}` of the sign-in path.
PROVIDER_ID_PATTERN = rf"^(?!{RESERVED_ID}$){PROVIDER_ID.pattern}$"
SUBJECT_MAX_LENGTH = 255


class OidcProviderUnknown(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "oidc_provider_unknown"
    default_detail = "No OpenID Connect provider with this id is configured."


class OidcSignInFailed(ApplicationError):
    status_code = status.HTTP_400_BAD_REQUEST
    code = "oidc_sign_in_failed"
    default_detail = "The OpenID Connect sign-in failed."


class OidcProviderUnavailable(ApplicationError):
    status_code = status.HTTP_502_BAD_GATEWAY
    code = "oidc_provider_unavailable"
    default_detail = "The OpenID Connect provider did not answer as expected; try again later."


@dataclass(frozen=True)
class OidcProvider:
    """One entry of `OIDC_PROVIDERS`."""

    id: str
    name: str
    issuer: str
    client_id: str
    client_secret: str
    scopes: tuple[str, ...]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"


@dataclass(frozen=True)
class OidcClaims:
    """What a verified ID token says about the person who signed in."""

    provider: str
    subject: str
    email: str
    email_verified: bool
    name: str


# --- Providers ------------------------------------------------------------------------------------------------


def configured_providers() -> list[OidcProvider]:
    """Every provider of `OIDC_PROVIDERS`, in the order configured."""
    entries = settings.OIDC_PROVIDERS or []
    if not isinstance(entries, list):
        raise ImproperlyConfigured("OIDC_PROVIDERS must be a JSON list of provider objects")
    providers = [_provider_from_setting(entry) for entry in entries]
    ids = [provider.id for provider in providers]
    if len(set(ids)) != len(ids):
        raise ImproperlyConfigured(f"OIDC_PROVIDERS has a provider id twice: {ids}")
    if RESERVED_ID in ids:  # /auth/oidc/providers/ is the list
        raise ImproperlyConfigured(f"{RESERVED_ID!r} cannot be an OIDC provider id")
    return providers


def provider_list() -> list[dict[str, Any]]:
    """What a client needs to start the flow with each provider. A provider whose discovery document cannot be
    had right now is left out (and logged): a sign-in button that cannot work is worse than none."""
    listing = []
    for provider in configured_providers():
        try:
            endpoint = authorization_endpoint(provider)
        except OidcProviderUnavailable as exc:
            logger.warning("OIDC provider %s left out of the list: %s", provider.id, exc.detail)
            continue
        listing.append(
            {
                "id": provider.id,
                "name": provider.name,
                "authorization_endpoint": endpoint,
                "client_id": provider.client_id,
                "scopes": list(provider.scopes),
            }
        )
    return listing


def get_provider(provider_id: str) -> OidcProvider:
    for provider in configured_providers():
        if provider.id == provider_id:
            return provider
    raise OidcProviderUnknown()


def _provider_from_setting(entry: Any) -> OidcProvider:
    if not isinstance(entry, dict) or not all(entry.get(key) for key in ("id", "issuer", "client_id")):
        # The entry itself is not quoted: it may hold a client secret.
        provider_id = entry.get("id") if isinstance(entry, dict) else None
        raise ImproperlyConfigured(f"Each OIDC_PROVIDERS entry needs an id, an issuer and a client_id: {provider_id!r}")
    if not PROVIDER_ID.fullmatch(str(entry["id"])):
        raise ImproperlyConfigured(f"An OIDC provider id is 1 to 64 letters, digits, - or _: {entry['id']!r}")
    scopes = entry.get("scopes") or DEFAULT_SCOPES
    if isinstance(scopes, str):
        scopes = scopes.split()
    if "openid" not in scopes:
        scopes = ("openid", *scopes)
    return OidcProvider(
        id=str(entry["id"]),
        name=str(entry.get("name") or entry["id"]),
        issuer=str(entry["issuer"]),
        client_id=str(entry["client_id"]),
        client_secret=str(entry.get("client_secret") or ""),
        scopes=tuple(str(scope) for scope in scopes),
    )


# --- Discovery ------------------------------------------------------------------------------------------------


def provider_metadata(provider: OidcProvider) -> dict[str, Any]:
    """The provider's discovery document (from the cache while it is fresh)."""
    return _load_metadata(_client(provider), provider)


def authorization_endpoint(provider: OidcProvider) -> str:
    endpoint = provider_metadata(provider).get("authorization_endpoint")
    if not isinstance(endpoint, str) or not endpoint:
        raise OidcProviderUnavailable("The provider's discovery document names no authorization endpoint.")
    return endpoint


# --- Sign-in --------------------------------------------------------------------------------------------------


def verified_claims(
    *, provider: OidcProvider, code: str, redirect_uri: str, code_verifier: str, nonce: str | None = None
) -> OidcClaims:
    """Exchange an authorization code (PKCE) at the provider's token endpoint and verify the ID token it answers.

    Raises OidcSignInFailed (400) for a code or token that is no good, OidcProviderUnavailable (502) when the
    provider is down or answers nonsense.
    """
    client = _client(provider)
    _load_metadata(client, provider)
    with _provider_errors():
        try:
            token = client.fetch_access_token(redirect_uri=redirect_uri, code=code, code_verifier=code_verifier)
        except AuthlibBaseError as exc:  # the provider's OAuth error answer: invalid_grant, invalid_request, …
            logger.info("OIDC code exchange refused by %s: %s", provider.id, exc.error)
            raise OidcSignInFailed(
                "The provider refused the authorization code.", extra={"error": str(exc.error or "")}
            ) from exc
        except ValueError as exc:  # a token answer that is not a JSON object
            raise OidcProviderUnavailable() from exc
    if not token.get("id_token"):
        raise OidcSignInFailed("The provider answered no ID token (is the `openid` scope granted?).")
    with _provider_errors():
        try:
            userinfo = client.parse_id_token(
                token, nonce=nonce or None, claims_options=_claims_options(provider), leeway=ID_TOKEN_LEEWAY_SECONDS
            )
        except JoseError as exc:  # bad signature, unknown key, wrong issuer/audience/nonce, expired, …
            logger.info("OIDC ID token from %s refused: %s", provider.id, exc)
            raise OidcSignInFailed("The ID token is not valid.", extra={"error": exc.error}) from exc
        except (ValueError, KeyError, TypeError) as exc:  # a JWKS that is not a key set
            logger.warning("OIDC provider %s: unreadable JWKS: %r", provider.id, exc)
            raise OidcProviderUnavailable("The provider's keys could not be read.") from exc
    _remember_keys(client, provider)
    return _claims(provider, userinfo)


def _claims_options(provider: OidcProvider) -> dict[str, Any]:
    # Fresh each call: Authlib pops entries out of these options as it reads them.
    return {
        "iss": {"essential": True, "value": provider.issuer},
        "aud": {"essential": True, "value": provider.client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
    }


def _claims(provider: OidcProvider, userinfo: dict[str, Any]) -> OidcClaims:
    verified = userinfo.get("email_verified")
    if isinstance(verified, str):  # some providers send "true"/"false"
        verified = verified.strip().lower() == "true"
    name = userinfo.get("name") or " ".join(
        part for part in (userinfo.get("given_name"), userinfo.get("family_name")) if part
    )
    try:
        validate_full_name(str(name or ""))
    except ValidationError as exc:
        raise OidcSignInFailed("The provider's name for this account has line breaks or control characters.") from exc
    subject = str(userinfo["sub"])
    if len(subject) > SUBJECT_MAX_LENGTH:  # OpenID Connect Core 1.0, 2: at most 255 ASCII characters
        raise OidcSignInFailed("The ID token's subject is longer than OpenID Connect allows.")
    return OidcClaims(
        provider=provider.id,
        subject=subject,
        email=normalize_email(str(userinfo.get("email") or "")),
        email_verified=verified is True,
        name=str(name or "")[:150],
    )


# --- Authlib's client, with the documents in the Django cache ---------------------------------------------------


def _client(provider: OidcProvider) -> DjangoOAuth2App:
    """Authlib's OAuth 2 / OIDC client for `provider`, primed with the cached discovery document and keys."""
    client = DjangoOAuth2App(
        DjangoIntegration(provider.id),
        name=provider.id,
        client_id=provider.client_id,
        client_secret=provider.client_secret or None,
        server_metadata_url=provider.discovery_url,
        client_kwargs={
            "scope": " ".join(provider.scopes),
            "code_challenge_method": "S256",
            # A public client (a single-page or mobile app's registration) has no secret: PKCE protects the code.
            "token_endpoint_auth_method": "client_secret_basic" if provider.client_secret else "none",
            "default_timeout": settings.OIDC_HTTP_TIMEOUT,
        },
    )
    cached = _cached(provider)
    if cached:
        client.server_metadata.update(cached)
    return client


def _load_metadata(client: DjangoOAuth2App, provider: OidcProvider) -> dict[str, Any]:
    """Authlib's discovery, once per cache lifetime; the document must name the configured issuer."""
    if "_loaded_at" in client.server_metadata:  # primed from the cache
        return dict(client.server_metadata)
    with _provider_errors():
        try:
            metadata = client.load_server_metadata()
        except ValueError as exc:  # not JSON
            raise OidcProviderUnavailable("The provider's discovery document is not JSON.") from exc
    if metadata.get("issuer") != provider.issuer:
        # OpenID Connect Discovery 1.0, 4.3: the issuer in the document must be the one it was fetched for.
        logger.error("OIDC provider %s: discovery names issuer %r", provider.id, metadata.get("issuer"))
        raise OidcProviderUnavailable("The provider's discovery document names another issuer.")
    cache.set(_cache_key(provider), dict(metadata), settings.OIDC_DISCOVERY_CACHE_SECONDS)
    return dict(metadata)


def _remember_keys(client: DjangoOAuth2App, provider: OidcProvider) -> None:
    """Keep the JWKS that verified the token (Authlib fetched it, or fetched it again for a new key id)."""
    cached = _cached(provider) or {}
    if client.server_metadata.get("jwks") != cached.get("jwks"):
        cache.set(_cache_key(provider), dict(client.server_metadata), settings.OIDC_DISCOVERY_CACHE_SECONDS)


def _cached(provider: OidcProvider) -> dict[str, Any] | None:
    return cache.get(_cache_key(provider))


def _cache_key(provider: OidcProvider) -> str:
    # Keyed by everything the document depends on, so a changed setting never reads a stale one.
    digest = hashlib.sha256(provider.discovery_url.encode()).hexdigest()[:32]
    return f"oidc:metadata:{digest}"


@contextmanager
def _provider_errors() -> Iterator[None]:
    """Network failures, timeouts and 5xx answers of the provider become a 502 with a JSON body."""
    try:
        yield
    except requests.RequestException as exc:
        logger.warning("OIDC provider unreachable or failing: %s", exc)
        raise OidcProviderUnavailable() from exc
    except RuntimeError as exc:  # Authlib: the discovery document lacks an endpoint it needs (jwks_uri, …)
        logger.warning("OIDC provider metadata incomplete: %s", exc)
        raise OidcProviderUnavailable("The provider's discovery document is incomplete.") from exc
