"""The authorization matrix: every endpoint of docs/api.md, called as anonymous, as a user, as another user and as an
admin, with the exact status each must get.

Owned rows (a message, an account's message list) belong to `user`; `other_user` is a signed-in stranger to them,
who must get a 404 (never a 403: they may not even learn the row exists). Every request is one that the allowed
roles can complete, so a 2xx proves access and any other code proves refusal.

The table is checked against the URL conf: a route (or a method on it) without a row fails the test, and so does a
row whose route is gone.
"""

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import URLPattern, URLResolver, get_resolver
from PIL import Image
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from apps.users.models import User
from apps.users.tokens import email_verification_token, encode_uid, password_reset_token
from tests.quality.conftest import World
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

ROLES = ("anonymous", "user", "other_user", "admin")
NEW_PASSWORD = "a-fresh-unguessable-passphrase-31"
# Routes the matrix does not own: the Django admin's own pages (its front door is a row below) and static files.
NOT_API_ROUTES = re.compile(r"^/(admin/.+|static/|media/)")

Body = Callable[[World, User | None], Any]


def anyone(status: int) -> tuple[int, int, int, int]:
    return (status, status, status, status)


def signed_in(status: int) -> tuple[int, int, int, int]:
    return (401, status, status, status)


def owner_or_admin(status: int) -> tuple[int, int, int, int]:
    return (401, status, 404, status)


def admin_only(status: int) -> tuple[int, int, int, int]:
    return (401, 403, 403, status)


@dataclass(frozen=True)
class Row:
    method: str
    route: str  # as the URL conf spells it, parameters as {name}
    expect: tuple[int, int, int, int]  # anonymous, user, other_user, admin
    path: Callable[[World], str] | None = None  # the concrete path, when the route has parameters
    body: Body | None = None
    format: str = "json"
    session: bool = False  # signed in with a Django session instead of a bearer token (the admin site)
    variant: str = field(default="", compare=False)

    def url(self, world: World) -> str:
        return self.path(world) if self.path else self.route

    @property
    def label(self) -> str:
        return f"{self.method} {self.route}{f' ({self.variant})' if self.variant else ''}"


def _product(world: World) -> str:
    return f"/api/v1/products/{world.products[0].pk}/"


def _png() -> SimpleUploadedFile:
    buffer = BytesIO()
    Image.new("RGB", (4, 4), (10, 120, 200)).save(buffer, "PNG")
    return SimpleUploadedFile("photo.png", buffer.getvalue(), content_type="image/png")


def _refresh_of(caller: User | None, world: World) -> dict[str, str]:
    return {"refresh": str(RefreshToken.for_user(caller or world.user))}


def _verification_link(world: World, caller: User | None) -> dict[str, str]:
    unverified = UserFactory(is_verified=False)
    return {"uid": encode_uid(unverified), "token": email_verification_token.make_token(unverified)}


def _reset_link(world: World, caller: User | None) -> dict[str, str]:
    target = world.user
    return {"uid": encode_uid(target), "token": password_reset_token.make_token(target), "new_password": NEW_PASSWORD}


MESSAGE = {"sender_number": "+15551230001", "receiver_number": "+442079460958", "body": "Hello there"}

MATRIX: list[Row] = [
    # --- Service -------------------------------------------------------------------------------------------------
    Row("GET", "/", anyone(200)),
    Row("GET", "/api/v1/", anyone(200)),
    Row("GET", "/api/redoc/dist/bundles/redoc.standalone.js", anyone(200)),
    Row("GET", "/health/", anyone(200)),
    Row("GET", "/health/live/", anyone(200)),
    Row("GET", "/health/ready/", anyone(200)),
    Row("GET", "/metrics", anyone(200)),  # the test client's address is on the allowed network
    Row("GET", "/api/schema/", anyone(200)),
    Row("GET", "/api/docs/", anyone(200)),
    Row("GET", "/api/redoc/", anyone(200)),
    # Staff only, with a session: everyone else is sent to the admin's sign-in page.
    Row("GET", "/admin/", (302, 302, 302, 200), session=True),
    Row("GET", "/favicon.ico", anyone(302)),  # to the icon among the static files
    # The browsable API's sign-in: a form for anyone, a session for right credentials, throttled like the login.
    Row("GET", "/api-auth/login/", anyone(200)),
    Row(
        "POST",
        "/api-auth/login/",
        anyone(302),
        body=lambda w, c: {"username": w.user.email, "password": DEFAULT_PASSWORD},
        format="multipart",
    ),
    Row(
        "POST",
        "/api-auth/login/",
        anyone(200),
        body=lambda w, c: {"username": w.user.email, "password": "not-the-password"},
        format="multipart",
        variant="wrong password: the form again",
    ),
    Row("POST", "/api-auth/logout/", anyone(302), session=True),
    # The pages the emails link to without a FRONTEND_URL: open to anyone, the link's token is the key.
    Row("GET", "/account/verify-email/", anyone(200)),
    Row("POST", "/account/verify-email/", anyone(200), body=_verification_link, format="multipart"),
    Row("GET", "/account/reset-password/", anyone(200)),
    Row(
        "POST",
        "/account/reset-password/",
        anyone(200),
        body=lambda w, c: {**_reset_link(w, c), "again": NEW_PASSWORD},
        format="multipart",
    ),
    # A reset link that no longer works offers a new one (the same answer whether or not an account has the email).
    Row("GET", "/account/reset-password/new-link/", anyone(200)),
    Row(
        "POST",
        "/account/reset-password/new-link/",
        anyone(200),
        body=lambda w, c: {"email": "someone@example.com"},
        format="multipart",
    ),
    # --- Users and auth ------------------------------------------------------------------------------------------
    Row(
        "POST",
        "/api/v1/auth/register/",
        anyone(201),
        body=lambda w, c: {"email": "newcomer@example.com", "password": NEW_PASSWORD, "full_name": "New Comer"},
    ),
    Row(
        "POST",
        "/api/v1/auth/login/",
        anyone(200),
        body=lambda w, c: {"email": w.user.email, "password": DEFAULT_PASSWORD},
    ),
    Row("POST", "/api/v1/auth/refresh/", anyone(200), body=lambda w, c: _refresh_of(w.user, w)),
    Row("POST", "/api/v1/auth/logout/", signed_in(204), body=lambda w, c: _refresh_of(c, w)),
    Row("POST", "/api/v1/auth/verify-email/", anyone(204), body=_verification_link),
    Row(
        "POST",
        "/api/v1/auth/password/change/",
        signed_in(200),
        body=lambda w, c: {"old_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
    ),
    Row("POST", "/api/v1/auth/password/reset/", anyone(202), body=lambda w, c: {"email": w.user.email}),
    Row("POST", "/api/v1/auth/password/reset/confirm/", anyone(204), body=_reset_link),
    # Two-factor enrolment of one's own account. Nobody is enrolled here: turning it off is a 409 for everyone
    # signed in, confirming without a setup too.
    Row("GET", "/api/v1/auth/2fa/", signed_in(200)),
    Row("POST", "/api/v1/auth/2fa/setup/", signed_in(200)),
    Row("POST", "/api/v1/auth/2fa/confirm/", signed_in(409), body=lambda w, c: {"otp": "123456"}),
    Row("DELETE", "/api/v1/auth/2fa/", signed_in(409), body=lambda w, c: {"password": DEFAULT_PASSWORD}),
    Row("GET", "/api/v1/auth/oidc/providers/", anyone(200)),
    # No provider is configured by default: an unknown provider is a 404 for everyone, never a 401 or 403.
    Row(
        "POST",
        "/api/v1/auth/oidc/{provider}/",
        anyone(404),
        path=lambda w: "/api/v1/auth/oidc/nowhere/",
        body=lambda w, c: {"code": "abc", "redirect_uri": "https://app.example.com/cb", "code_verifier": "v" * 43},
    ),
    Row("GET", "/api/v1/users/me/", signed_in(200)),
    Row("PATCH", "/api/v1/users/me/", signed_in(200), body=lambda w, c: {"full_name": "Renamed"}),
    Row("GET", "/api/v1/users/me/activity/", signed_in(200)),
    Row("GET", "/api/v1/users/", admin_only(200)),
    Row("GET", "/api/v1/users/{pk}/", admin_only(200), path=lambda w: f"/api/v1/users/{w.user.pk}/"),
    Row(
        "PATCH",
        "/api/v1/users/{pk}/",
        admin_only(200),
        path=lambda w: f"/api/v1/users/{w.user.pk}/",
        body=lambda w, c: {"full_name": "Renamed"},
    ),
    Row("DELETE", "/api/v1/users/{pk}/", admin_only(204), path=lambda w: f"/api/v1/users/{w.user.pk}/"),
    # --- Catalog -------------------------------------------------------------------------------------------------
    Row("GET", "/api/v1/categories/", signed_in(200)),
    Row("POST", "/api/v1/categories/", admin_only(201), body=lambda w, c: {"slug": "garden", "name": "Garden"}),
    Row("GET", "/api/v1/products/", signed_in(200)),
    Row(
        "POST",
        "/api/v1/products/",
        admin_only(201),
        body=lambda w, c: {
            "sku": "SPD-100",
            "name": "Spade",
            "description": "Steel blade",
            "category": "tools",
            "price": "12.50",
            "currency": "USD",
            "stock": 3,
        },
    ),
    Row("GET", "/api/v1/products/{pk}/", signed_in(200), path=_product),
    Row("PATCH", "/api/v1/products/{pk}/", admin_only(200), path=_product, body=lambda w, c: {"name": "Renamed"}),
    Row("DELETE", "/api/v1/products/{pk}/", admin_only(204), path=_product),
    Row(
        "PATCH",
        "/api/v1/products/{pk}/price/",
        admin_only(200),
        path=lambda w: _product(w) + "price/",
        body=lambda w, c: {"price": "21.00"},
    ),
    Row(
        "PATCH",
        "/api/v1/products/{pk}/availability/",
        admin_only(200),
        path=lambda w: _product(w) + "availability/",
        body=lambda w, c: {"is_available": False},
    ),
    Row("GET", "/api/v1/products/{pk}/price-history/", signed_in(200), path=lambda w: _product(w) + "price-history/"),
    Row(
        "PUT",
        "/api/v1/products/{pk}/image/",
        admin_only(200),
        path=lambda w: _product(w) + "image/",
        body=lambda w, c: {"image": _png()},
        format="multipart",
    ),
    # --- Messages (the owned rows are `user`'s) ------------------------------------------------------------------
    Row("POST", "/api/v1/messages/", signed_in(201), body=lambda w, c: MESSAGE),
    Row(
        "POST",
        "/api/v1/messages/",
        (401, 201, 403, 201),
        body=lambda w, c: {**MESSAGE, "account_id": str(w.user.account_id)},
        variant="for user's account",
    ),
    Row("GET", "/api/v1/messages/", signed_in(200)),
    Row("GET", "/api/v1/messages/search/", signed_in(200)),
    Row(
        "GET",
        "/api/v1/messages/{message_id}/",
        owner_or_admin(200),
        path=lambda w: f"/api/v1/messages/{w.messages['user'][0].message_id}/",
    ),
    Row(
        "POST",
        "/api/v1/messages/{message_id}/cancel/",
        owner_or_admin(200),
        path=lambda w: f"/api/v1/messages/{w.messages['user'][0].message_id}/cancel/",
    ),
    # Status callback settings: always the caller's own account's.
    Row("GET", "/api/v1/accounts/me/status-callback/", signed_in(200)),
    Row("PATCH", "/api/v1/accounts/me/status-callback/", signed_in(200), body=lambda w, c: {"default_url": ""}),
    Row("POST", "/api/v1/accounts/me/status-callback/secret/", signed_in(200)),
    # The numbers and sender IDs the caller's account owns: always its own.
    Row("GET", "/api/v1/accounts/me/numbers/", signed_in(200)),
    # Opt-outs and keyword answers: always the caller's own account's (an admin's too: another account's opt-out
    # is a 404 here; admins manage every account's in the admin site).
    Row("GET", "/api/v1/accounts/me/opt-outs/", signed_in(200)),
    Row(
        "POST",
        "/api/v1/accounts/me/opt-outs/",
        signed_in(201),
        body=lambda w, c: {"recipient_number": "+442079460959"},
    ),
    Row(
        "DELETE",
        "/api/v1/accounts/me/opt-outs/{pk}/",
        (401, 204, 404, 404),
        path=lambda w: f"/api/v1/accounts/me/opt-outs/{w.opt_outs[0].pk}/",
    ),
    Row("GET", "/api/v1/accounts/me/messaging/", signed_in(200)),
    Row("PATCH", "/api/v1/accounts/me/messaging/", signed_in(200), body=lambda w, c: {"help_text": "Call us."}),
    # Gateways authenticate receipts with a signature; no token makes an unsigned one acceptable.
    Row(
        "POST",
        "/api/v1/messages/receipts/{backend}/",
        anyone(401),
        path=lambda w: "/api/v1/messages/receipts/http/",
        body=lambda w, c: {"reference": w.messages["user"][0].message_id, "status": "delivered"},
    ),
    # The same for inbound messages a gateway posts.
    Row(
        "POST",
        "/api/v1/messages/inbound/{backend}/",
        anyone(401),
        path=lambda w: "/api/v1/messages/inbound/http/",
        body=lambda w, c: {"from": "+447700900001", "to": "+15550007001", "body": "Hi", "gateway_message_id": "g1"},
    ),
    # Inbound messages: the caller's own account's (an admin: every account's).
    Row("GET", "/api/v1/inbound-messages/", signed_in(200)),
    Row("GET", "/api/v1/inbound-messages/search/", signed_in(200)),
    Row(
        "GET",
        "/api/v1/inbound-messages/{message_id}/",
        owner_or_admin(200),
        path=lambda w: f"/api/v1/inbound-messages/{w.inbound.message_id}/",
    ),
    Row(
        "GET",
        "/api/v1/accounts/{account_id}/messages/",
        owner_or_admin(200),
        path=lambda w: f"/api/v1/accounts/{w.user.account_id}/messages/",
    ),
]


def _caller(world: World, role: str) -> User | None:
    return None if role == "anonymous" else getattr(world, role)


def _client_for(caller: User | None, row: Row) -> APIClient:
    client = APIClient()
    if caller is not None and row.session:
        client.force_login(caller)
    elif caller is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(caller).access_token}")
    return client


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("row", MATRIX, ids=lambda row: row.label)
def test_each_role_gets_its_status(world: World, row: Row, role: str) -> None:
    caller = _caller(world, role)
    client = _client_for(caller, row)
    body = row.body(world, caller) if row.body else None

    response = getattr(client, row.method.lower())(row.url(world), body, format=row.format)

    expected = row.expect[ROLES.index(role)]
    assert response.status_code == expected, (row.label, role, response.status_code, _excerpt(response))
    if 400 <= response.status_code < 500:
        assert_refusal_shape(response.json(), (row.label, role))


def assert_refusal_shape(body: Any, where: object) -> None:
    """Every 4xx body is docs/api.md's one shape: `{"detail", "code"}`, or the validation shape (each field at
    fault with its list of messages)."""
    assert isinstance(body, dict), where
    if "detail" in body:
        assert isinstance(body["detail"], str), where
        assert isinstance(body.get("code"), str), (where, body)
    else:
        assert body, where
        assert all(isinstance(messages, list | dict) for messages in body.values()), (where, body)


def _excerpt(response: Any) -> str:
    return response.content[:300].decode(errors="replace")


# --- The table against the URL conf -------------------------------------------------------------------------------

# A named group without nested groups (the routers' lookups are `\d+`, `[^/.]+`, `[0-9a-z]{26}`); a route with
# anything fancier would not match its row and fail the test, not pass it.
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^()]*\)")
_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
IGNORED_METHODS = {"head", "options", "trace"}


def _template(pattern: str) -> str:
    """`^products/(?P<pk>\\d+)/price/$` or `oidc/<str:provider>/` as `products/{pk}/price/`, `oidc/{provider}/`."""
    route = _REGEX_GROUP.sub(r"{\1}", pattern)
    return _CONVERTER.sub(r"{\1}", route).replace("^", "").replace("$", "")


def _routes(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + _template(str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + _template(str(pattern.pattern)), pattern.callback


def _methods(callback: Any) -> set[str]:
    """The methods a view answers: a viewset route's actions, an APIView's handlers; a plain Django view is GET."""
    if getattr(callback, "actions", None):
        methods = set(callback.actions)
    elif getattr(callback, "cls", None) is not None:
        methods = {name for name in callback.cls.http_method_names if hasattr(callback.cls, name)}
    elif getattr(callback, "view_class", None) is not None:
        methods = {name for name in callback.view_class.http_method_names if hasattr(callback.view_class, name)}
    else:
        methods = {"get"}
    return {method.upper() for method in methods - IGNORED_METHODS}


def url_conf_endpoints() -> set[tuple[str, str]]:
    return {
        (method, route)
        for route, callback in _routes(get_resolver().url_patterns)
        if not NOT_API_ROUTES.match(route)
        for method in _methods(callback)
    }


def test_every_endpoint_has_a_row() -> None:
    endpoints = url_conf_endpoints()
    rows = {(row.method, row.route) for row in MATRIX}

    assert endpoints - rows == set(), "endpoints without a row in the authorization matrix"
    assert rows - endpoints == set(), "rows for endpoints the URL conf does not have"
