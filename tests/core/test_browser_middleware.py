"""API requests with a bearer token skip sessions, Django's authentication and messages; all others run them."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client

from apps.core.browser import BrowserAuthenticationMiddleware, BrowserMessageMiddleware, BrowserSessionMiddleware


def _seen_by_the_view(request: HttpRequest) -> dict[str, bool]:
    seen: dict[str, bool] = {}

    def view(inner: HttpRequest) -> HttpResponse:
        seen.update(
            session=hasattr(inner, "session"), user=hasattr(inner, "user"), messages=hasattr(inner, "_messages")
        )
        return HttpResponse()

    BrowserSessionMiddleware(BrowserAuthenticationMiddleware(BrowserMessageMiddleware(view)))(request)
    return seen


def test_an_api_request_with_a_bearer_token_skips_the_browser_middleware(rf) -> None:
    request = rf.get("/api/v1/products/", HTTP_AUTHORIZATION="Bearer some.jwt.token")
    assert _seen_by_the_view(request) == {"session": False, "user": False, "messages": False}


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/api/v1/products/", None),
        ("/api/v1/products/", "bearer some.jwt.token"),  # not the scheme simplejwt reads: the session may apply
        ("/api/v1/products/", "Basic dXNlcjpwYXNz"),
        ("/admin/", "Bearer some.jwt.token"),  # only the API authenticates bearer tokens
    ],
)
def test_every_other_request_runs_the_browser_middleware(rf, path, authorization) -> None:
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    assert _seen_by_the_view(rf.get(path, **headers)) == {"session": True, "user": True, "messages": True}


@pytest.mark.django_db
@pytest.mark.parametrize("authorization", [None, "Bearer some.jwt.token"])
def test_csrf_still_guards_the_admin(authorization) -> None:
    client = Client(enforce_csrf_checks=True)
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    response = client.post("/admin/login/", {"username": "a@example.com", "password": "x"}, **headers)
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_bad_bearer_token_is_refused_even_beside_a_signed_in_session(api_client, user) -> None:
    api_client.force_login(user)
    assert api_client.get("/api/v1/messages/").status_code == 200  # the session alone signs in

    api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
    response = api_client.get("/api/v1/messages/")

    assert response.status_code == 401
