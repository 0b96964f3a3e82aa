"""OpenID Connect sign-in, end to end against a real provider process.

The provider is a small Django project with django-oauth-toolkit (tests/users/oidc_provider/), started once per
test session on a spare 127.0.0.1 port with its own SQLite database and an RS256 key made for this run. Each
sign-in is driven as a browser would: open the authorization endpoint our API lists with a PKCE challenge and a
nonce, sign in at the provider's form, follow the redirects to our redirect URI and take the code; then post the
code to our API and use the token it answers.
"""

import base64
import hashlib
import json
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlparse

import pytest
import requests
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.core import mail
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.messages.models import CallbackSettings
from apps.users.models import OidcIdentity, User
from tests.helpers.processes import BASE_DIR, closed_port, free_port, project_env, stop, wait_for_http
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

CLIENT_ID = "drm-single-page-app"
REDIRECT_URI = "http://127.0.0.1:5173/auth/callback"
HTTP_TIMEOUT = 10  # every call of the test's "browser"


@dataclass(frozen=True)
class Person:
    username: str
    password: str
    email: str
    email_verified: bool
    first_name: str = ""
    last_name: str = ""


ALICE = Person("alice", "alice-at-the-provider-1", "alice@example.org", True, "Alice", "Liddell")
BOB = Person("bob", "bob-at-the-provider-1", "bob@example.org", False, "Bob", "Builder")
PEOPLE = (ALICE, BOB)


@dataclass(frozen=True)
class Grant:
    """What the browser brings back from the provider, and the PKCE verifier and nonce it started with."""

    code: str
    code_verifier: str
    nonce: str


@dataclass
class Provider:
    """One running provider process."""

    process: subprocess.Popen
    port: int
    log: Path
    issuer: str = field(init=False)

    def __post_init__(self) -> None:
        self.issuer = f"http://127.0.0.1:{self.port}/o"

    def setting(self, provider_id: str, name: str) -> dict[str, Any]:
        """Its entry in OIDC_PROVIDERS."""
        return {
            "id": provider_id,
            "name": name,
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "client_secret": "",
            "scopes": ["openid", "email", "profile"],
        }


def rsa_private_key_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def launch_provider(directory: Path, *, published_jwks_uri: str = "") -> Provider:
    """Start a provider process with a fresh RS256 key, its own database in `directory`, the client and PEOPLE;
    `ready` waits for it to answer, so several can start at once."""
    directory.mkdir(parents=True, exist_ok=True)
    port = free_port()
    seed = {
        "client_id": CLIENT_ID,
        "redirect_uris": [REDIRECT_URI],
        "people": [person.__dict__ for person in PEOPLE],
    }
    env = project_env(
        DJANGO_SETTINGS_MODULE="tests.users.oidc_provider.settings",
        IDP_PORT=str(port),
        IDP_ISSUER=f"http://127.0.0.1:{port}/o",
        IDP_DATABASE=str(directory / "provider.sqlite3"),
        IDP_RSA_PRIVATE_KEY=rsa_private_key_pem(),
        IDP_SEED=json.dumps(seed),
        IDP_PUBLISHED_JWKS_URI=published_jwks_uri,
    )
    log = directory / "provider.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.users.oidc_provider.serve"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Provider(process=process, port=port, log=log)


def ready(provider: Provider) -> Provider:
    try:
        wait_for_http(f"{provider.issuer}/.well-known/openid-configuration", timeout=90, process=provider.process)
    except Exception:
        stop(provider.process)
        raise RuntimeError(f"the test provider did not start:\n{provider.log.read_text()[-3000:]}") from None
    return provider


@pytest.fixture(scope="session")
def providers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Provider]]:
    """The provider processes this module needs, started together once per session (each takes seconds to start):
    `idp`, which every sign-in uses; `impostor`, which signs with its own key but publishes idp's keys, as a forger
    would have to; `short-lived`, which the discovery cache's test stops."""
    root = tmp_path_factory.mktemp("oidc-providers")
    idp = launch_provider(root / "idp")
    started = {
        "idp": idp,
        "impostor": launch_provider(root / "impostor", published_jwks_uri=f"{idp.issuer}/.well-known/jwks.json"),
        "short-lived": launch_provider(root / "short-lived"),
    }
    try:
        yield {name: ready(provider) for name, provider in started.items()}
    finally:
        for provider in started.values():
            stop(provider.process)


@pytest.fixture
def idp(providers: dict[str, Provider]) -> Provider:
    return providers["idp"]


@pytest.fixture
def acme(settings, db, idp: Provider) -> Provider:
    """Our service configured with the running provider as `acme`."""
    settings.OIDC_PROVIDERS = [idp.setting("acme", "Acme ID")]
    return idp


# --- The browser -----------------------------------------------------------------------------------------------


def authorize(authorization_endpoint: str, person: Person) -> Grant:
    """Sign `person` in at the provider and bring back the code, as a browser following the redirects would."""
    code_verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(code_verifier.encode()).digest()).rstrip(b"=").decode()
    nonce, state = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    browser = requests.Session()
    login_page = browser.get(
        authorization_endpoint,
        params={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": REDIRECT_URI,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        },
        timeout=HTTP_TIMEOUT,
    )
    assert login_page.status_code == 200, login_page.text[:2000]
    assert urlparse(login_page.url).path == "/accounts/login/"
    csrf_field = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login_page.text)
    assert csrf_field is not None
    csrf = csrf_field.group(1)
    response = browser.post(
        login_page.url,
        data={"csrfmiddlewaretoken": csrf, "username": person.username, "password": person.password},
        allow_redirects=False,
        timeout=HTTP_TIMEOUT,
    )
    for _ in range(5):  # login -> /o/authorize/ -> our redirect URI
        assert response.status_code == 302, response.text[:2000]
        location = urljoin(response.url, response.headers["Location"])
        if location.startswith(REDIRECT_URI):
            query = parse_qs(urlparse(location).query)
            assert query["state"] == [state]
            return Grant(code=query["code"][0], code_verifier=code_verifier, nonce=nonce)
        response = browser.get(location, allow_redirects=False, timeout=HTTP_TIMEOUT)
    raise AssertionError("the provider never redirected to our redirect URI")


def providers_listed(client: APIClient) -> list[dict[str, Any]]:
    response = client.get("/api/v1/auth/oidc/providers/")
    assert response.status_code == 200, response.content
    return response.json()


def authorization_endpoint_of(client: APIClient, provider_id: str) -> str:
    return next(entry for entry in providers_listed(client) if entry["id"] == provider_id)["authorization_endpoint"]


@pytest.fixture
def sign_in(api_client: APIClient, run_on_commit) -> Callable[..., Any]:
    """`sign_in(grant, provider_id="acme", **body_changes)`: post the code to our API (after-commit work runs)."""

    def post(grant: Grant, provider_id: str = "acme", **changes: Any) -> Any:
        body = {
            "code": grant.code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": grant.code_verifier,
            "nonce": grant.nonce,
            **changes,
        }
        return run_on_commit(api_client.post, f"/api/v1/auth/oidc/{provider_id}/", body, format="json")

    return post


@pytest.fixture
def signed_in(api_client, sign_in, bearer) -> Callable[..., dict[str, Any]]:
    """`signed_in(person)`: the whole flow with `acme`; returns our `/users/me/` for the token it answers."""

    def flow(person: Person) -> dict[str, Any]:
        grant = authorize(authorization_endpoint_of(api_client, "acme"), person)
        response = sign_in(grant)
        assert response.status_code == 200, response.content
        tokens = response.json()
        assert set(tokens) == {"access", "refresh"}
        me = bearer(tokens["access"]).get("/api/v1/users/me/")
        assert me.status_code == 200, me.content
        return me.json()

    return flow


def refused(response: Any, error: str) -> dict[str, Any]:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body == {"detail": body["detail"], "code": "oidc_sign_in_failed", "error": error}
    return body


# --- The provider list -----------------------------------------------------------------------------------------


def test_no_provider_is_configured_by_default(db, api_client) -> None:
    assert providers_listed(api_client) == []


def test_the_list_shows_each_provider_with_its_discovered_authorization_endpoint(acme, api_client) -> None:
    assert providers_listed(api_client) == [
        {
            "id": "acme",
            "name": "Acme ID",
            "authorization_endpoint": f"{acme.issuer}/authorize/",
            "client_id": CLIENT_ID,
            "scopes": ["openid", "email", "profile"],
        }
    ]


# --- Sign-in ---------------------------------------------------------------------------------------------------


def test_a_new_person_gets_a_new_verified_account(acme, signed_in) -> None:
    me = signed_in(ALICE)

    assert (me["email"], me["full_name"], me["role"], me["is_verified"]) == (ALICE.email, "Alice Liddell", "user", True)
    user = User.objects.get(pk=me["id"])
    assert not user.has_usable_password()
    identity = OidcIdentity.objects.get(user=user)
    assert (identity.provider, identity.email) == ("acme", ALICE.email)
    assert identity.subject  # the provider's `sub`
    actions = list(AuditEvent.objects.filter(actor=user).order_by("id").values_list("action", "changes"))
    assert actions == [
        ("user.registered", {"email": [None, ALICE.email], "via": "oidc:acme", "is_verified": True}),
        ("auth.oidc_linked", {"provider": "acme", "subject": identity.subject, "email": ALICE.email}),
        ("auth.login", {"via": "oidc:acme"}),
    ]


def test_a_new_person_with_an_unverified_email_gets_an_unverified_account_and_the_email(acme, signed_in) -> None:
    me = signed_in(BOB)

    assert (me["email"], me["is_verified"]) == (BOB.email, False)
    assert [message.to for message in mail.outbox] == [[BOB.email]]


def test_an_existing_account_is_linked_by_a_verified_email(acme, signed_in) -> None:
    existing = UserFactory(email=ALICE.email.upper(), is_verified=True)

    me = signed_in(ALICE)

    assert me["id"] == existing.pk
    assert User.objects.count() == 1
    assert OidcIdentity.objects.get().user == existing
    existing.refresh_from_db()
    assert existing.check_password(DEFAULT_PASSWORD)  # a verified account keeps its password


def test_linking_an_account_nobody_verified_clears_its_password(acme, signed_in, api_client) -> None:
    # Someone registered the email first and never proved it; the provider proves it belongs to the one signing in.
    UserFactory(email=ALICE.email, is_verified=False)

    me = signed_in(ALICE)

    assert me["is_verified"] is True
    response = api_client.post("/api/v1/auth/login/", {"email": ALICE.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 401


def test_a_claimed_account_loses_the_callback_settings_its_pre_registrant_chose(acme, signed_in) -> None:
    squatter = UserFactory(email=ALICE.email, is_verified=False)
    CallbackSettings.objects.create(
        account_id=squatter.account_id, default_url="https://squatter.example/hook", secret="whsec_squatter"
    )

    signed_in(ALICE)

    assert CallbackSettings.objects.values_list("default_url", "secret").get() == ("", "")
    event = AuditEvent.objects.get(action="callbacks.cleared_on_claim")
    assert event.changes == {"default_url": ["https://squatter.example/hook", ""], "secret_cleared": True}


def test_the_same_subject_signs_in_again_to_the_same_account(acme, signed_in) -> None:
    first = signed_in(ALICE)
    second = signed_in(ALICE)

    assert second == first
    assert User.objects.count() == 1
    assert OidcIdentity.objects.count() == 1
    user = User.objects.get()
    assert AuditEvent.objects.filter(actor=user, action="auth.login").count() == 2


def test_an_unverified_email_of_an_existing_account_is_refused(acme, api_client, sign_in) -> None:
    existing = UserFactory(email=BOB.email)

    response = sign_in(authorize(authorization_endpoint_of(api_client, "acme"), BOB))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "An account with this email already exists, and the provider does not say the email is "
        "verified. Sign in with your password instead.",
        "code": "oidc_email_unverified",
    }
    assert not OidcIdentity.objects.exists()
    assert not AuditEvent.objects.filter(actor=existing).exists()


def test_a_deactivated_account_cannot_sign_in(acme, api_client, sign_in) -> None:
    UserFactory(email=ALICE.email, is_active=False)

    response = sign_in(authorize(authorization_endpoint_of(api_client, "acme"), ALICE))

    assert response.status_code == 401
    assert response.json() == {"detail": "This account is deactivated.", "code": "invalid_credentials"}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert not OidcIdentity.objects.exists()


# --- Codes and tokens that are no good --------------------------------------------------------------------------


def test_a_replayed_code_is_400(acme, api_client, sign_in) -> None:
    grant = authorize(authorization_endpoint_of(api_client, "acme"), ALICE)
    assert sign_in(grant).status_code == 200

    refused(sign_in(grant), "invalid_grant")

    assert AuditEvent.objects.filter(action="auth.login").count() == 1


def test_a_forged_code_is_400(acme, api_client, sign_in) -> None:
    grant = authorize(authorization_endpoint_of(api_client, "acme"), ALICE)

    refused(sign_in(grant, code=secrets.token_urlsafe(24)), "invalid_grant")

    assert not User.objects.exists()


def test_a_wrong_code_verifier_is_400(acme, api_client, sign_in) -> None:
    grant = authorize(authorization_endpoint_of(api_client, "acme"), ALICE)

    refused(sign_in(grant, code_verifier=secrets.token_urlsafe(48)), "invalid_grant")


def test_a_wrong_nonce_is_400(acme, api_client, sign_in) -> None:
    grant = authorize(authorization_endpoint_of(api_client, "acme"), ALICE)

    refused(sign_in(grant, nonce="not-the-nonce-of-the-request"), "invalid_claim")

    assert not User.objects.exists()


def test_an_id_token_signed_by_another_key_is_refused(settings, db, providers, api_client, sign_in) -> None:
    # The impostor signs with its own key but publishes idp's keys, as a forger would have to.
    settings.OIDC_PROVIDERS = [providers["impostor"].setting("impostor", "Impostor")]
    grant = authorize(authorization_endpoint_of(api_client, "impostor"), ALICE)

    refused(sign_in(grant, provider_id="impostor"), "invalid_key_id")
    assert not User.objects.exists()
    assert not OidcIdentity.objects.exists()


def test_an_unknown_provider_is_404(acme, api_client) -> None:
    response = api_client.post("/api/v1/auth/oidc/nobody/", {}, format="json")

    assert response.status_code == 404
    assert response.json() == {
        "detail": "No OpenID Connect provider with this id is configured.",
        "code": "oidc_provider_unknown",
    }


def test_a_body_without_the_pkce_verifier_is_400(acme, api_client) -> None:
    response = api_client.post(
        "/api/v1/auth/oidc/acme/", {"code": "abc", "redirect_uri": REDIRECT_URI, "code_verifier": "short"}
    )

    assert response.status_code == 400
    assert response.json() == {"code_verifier": ["Ensure this field has at least 43 characters."]}


# --- A provider that is down ------------------------------------------------------------------------------------


def test_a_provider_that_does_not_answer_is_left_out_and_a_sign_in_is_502(settings, db, api_client) -> None:
    down = f"http://127.0.0.1:{closed_port()}/o"
    settings.OIDC_PROVIDERS = [{"id": "down", "name": "Down", "issuer": down, "client_id": CLIENT_ID}]

    assert providers_listed(api_client) == []
    response = api_client.post(
        "/api/v1/auth/oidc/down/",
        {"code": "some-code", "redirect_uri": REDIRECT_URI, "code_verifier": secrets.token_urlsafe(48)},
        format="json",
    )

    assert response.status_code == 502
    assert response.json() == {
        "detail": "The OpenID Connect provider did not answer as expected; try again later.",
        "code": "oidc_provider_unavailable",
    }


def test_a_provider_that_hangs_is_502_within_the_timeout(settings, db, api_client) -> None:
    settings.OIDC_HTTP_TIMEOUT = 0.5
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        issuer = f"http://127.0.0.1:{silent.getsockname()[1]}/o"
        settings.OIDC_PROVIDERS = [{"id": "slow", "name": "Slow", "issuer": issuer, "client_id": CLIENT_ID}]
        started = time.monotonic()
        response = api_client.post(
            "/api/v1/auth/oidc/slow/",
            {"code": "some-code", "redirect_uri": REDIRECT_URI, "code_verifier": secrets.token_urlsafe(48)},
            format="json",
        )
        elapsed = time.monotonic() - started

    assert response.status_code == 502
    assert response.json()["code"] == "oidc_provider_unavailable"
    assert elapsed < 5


def test_discovery_is_cached_for_its_ttl(settings, db, providers, api_client) -> None:
    # An in-process cache: its entries expire by the clock the test moves (Redis's follow a clock it cannot move).
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "oidc"}}
    settings.OIDC_DISCOVERY_CACHE_SECONDS = 60
    provider = providers["short-lived"]
    with time_machine.travel(datetime.now(UTC), tick=False) as clock:
        try:
            settings.OIDC_PROVIDERS = [provider.setting("brief", "Brief")]
            listed = providers_listed(api_client)
            assert [entry["id"] for entry in listed] == ["brief"]
        finally:
            stop(provider.process)

        # The provider is gone: the list still comes from the cache, but exchanging a code needs the provider.
        clock.shift(timedelta(seconds=59))
        assert providers_listed(api_client) == listed
        response = api_client.post(
            "/api/v1/auth/oidc/brief/",
            {"code": "some-code", "redirect_uri": REDIRECT_URI, "code_verifier": secrets.token_urlsafe(48)},
            format="json",
        )
        assert response.status_code == 502
        assert response.json()["code"] == "oidc_provider_unavailable"

        clock.shift(timedelta(seconds=2))
        assert providers_listed(api_client) == []  # the cached document expired and cannot be fetched again


# --- The admin ---------------------------------------------------------------------------------------------------


def test_linked_identities_show_in_the_admin(acme, signed_in, admin_user) -> None:
    from django.test import Client

    me = signed_in(ALICE)
    identity = OidcIdentity.objects.get()
    site = Client()
    site.force_login(admin_user)

    listing = site.get("/admin/users/oidcidentity/")
    assert listing.status_code == 200
    assert identity.subject in listing.content.decode()
    user_page = site.get(f"/admin/users/user/{me['id']}/change/")
    assert user_page.status_code == 200
    assert f"acme: {identity.subject}</a> ({ALICE.email})" in user_page.content.decode()
    assert site.get(f"/admin/users/oidcidentity/{identity.pk}/change/").status_code == 200  # view-only
    assert site.get("/admin/users/oidcidentity/add/").status_code == 403


# --- The setting ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "providers",
    [
        {"id": "acme"},
        [{"id": "acme", "issuer": "https://id.example.com"}],
        [{"issuer": "https://id.example.com", "client_id": "x"}],
        [{"id": "a", "issuer": "https://a.example.com", "client_id": "x"}] * 2,
        [{"id": "providers", "issuer": "https://a.example.com", "client_id": "x"}],
        [{"id": "a/b", "issuer": "https://a.example.com", "client_id": "x"}],
    ],
    ids=["not-a-list", "no-client-id", "no-id", "same-id-twice", "reserved-id", "not-a-path-segment"],
)
def test_a_malformed_provider_setting_is_refused(settings, providers) -> None:
    from django.core.exceptions import ImproperlyConfigured

    from apps.users.oidc.client import configured_providers

    settings.OIDC_PROVIDERS = providers
    with pytest.raises(ImproperlyConfigured):
        configured_providers()


def test_scopes_default_and_always_include_openid(settings) -> None:
    from apps.users.oidc.client import configured_providers

    settings.OIDC_PROVIDERS = [
        {"id": "a", "issuer": "https://a.example.com", "client_id": "x"},
        {"id": "b", "issuer": "https://b.example.com", "client_id": "y", "scopes": "email profile"},
    ]
    assert [provider.scopes for provider in configured_providers()] == [
        ("openid", "email", "profile"),
        ("openid", "email", "profile"),
    ]
