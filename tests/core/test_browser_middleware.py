"""Requests that cannot use a session (API ones with a bearer token or without a session cookie, the probes and
/metrics) skip sessions, Django's authentication and messages; all others run them."""

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client

from apps.core.http.browser import BrowserAuthenticationMiddleware, BrowserMessageMiddleware, BrowserSessionMiddleware


def _seen_by_the_view(request: HttpRequest) -> dict[str, bool]:
    seen: dict[str, bool] = {}

    def view(inner: HttpRequest) -> HttpResponse:
        seen.update(
            session=hasattr(inner, "session"), user=hasattr(inner, "user"), messages=hasattr(inner, "_messages")
        )
        return HttpResponse()

    BrowserSessionMiddleware(BrowserAuthenticationMiddleware(BrowserMessageMiddleware(view)))(request)
    return seen


SKIPPED = {"session": False, "user": False, "messages": False}
RUN = {"session": True, "user": True, "messages": True}


@pytest.mark.parametrize(
    ("path", "authorization", "session_cookie"),
    [
        ("/api/v1/products/", "Bearer some.jwt.token", False),
        ("/api/v1/products/", "Bearer some.jwt.token", True),  # the token wins: DRF never reads the session then
        ("/api/v1/auth/login/", None, False),
        ("/health/live/", None, False),
        ("/health/live/", None, True),
        ("/metrics", None, True),
    ],
)
def test_a_request_that_cannot_use_a_session_skips_the_browser_middleware(
    rf, settings, path, authorization, session_cookie
) -> None:
    request = rf.get(path, **({"HTTP_AUTHORIZATION": authorization} if authorization else {}))
    if session_cookie:
        request.COOKIES[settings.SESSION_COOKIE_NAME] = "some-session-key"
    assert _seen_by_the_view(request) == SKIPPED


@pytest.mark.parametrize(
    ("path", "authorization"),
    [
        ("/api/v1/products/", None),
        ("/api/v1/products/", "bearer some.jwt.token"),  # not the scheme simplejwt reads: the session may apply
        ("/api/v1/products/", "Basic dXNlcjpwYXNz"),
        ("/admin/", "Bearer some.jwt.token"),  # only the API authenticates bearer tokens
        ("/admin/", None),
    ],
)
def test_a_request_with_a_session_cookie_runs_the_browser_middleware(rf, settings, path, authorization) -> None:
    request = rf.get(path, **({"HTTP_AUTHORIZATION": authorization} if authorization else {}))
    request.COOKIES[settings.SESSION_COOKIE_NAME] = "some-session-key"
    assert _seen_by_the_view(request) == RUN


def test_a_page_outside_the_api_runs_the_browser_middleware_without_a_cookie(rf) -> None:
    assert _seen_by_the_view(rf.get("/account/reset-password/")) == RUN
    assert _seen_by_the_view(rf.get("/api-auth/login/")) == RUN


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
