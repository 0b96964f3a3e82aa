"""Django's session, authentication and messages middleware, skipped by requests that cannot use a session.

An API request with a bearer token authenticates with its token in DRF (the bearer scheme never falls back to the
session); an API request without a session cookie has no session to read (nothing under /api/ starts one); the
probes and /metrics never look at one. For those, reading the session and putting its user and messages on the
request would be work for nothing. Every other request (the admin, the account pages, the browsable API's sign-in,
an API client signed in with a session) runs them as before. CSRF stays Django's own middleware: DRF's views are
exempt from it anyway, and DRF enforces it for session authentication itself.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin
from rest_framework_simplejwt.settings import api_settings

SESSIONLESS_PATH_PREFIXES = ("/health/", "/metrics")


def carries_bearer_token(request: HttpRequest) -> bool:
    """An /api/ request whose Authorization header names the scheme simplejwt authenticates (exactly as it reads it)."""
    if not request.path_info.startswith("/api/"):
        return False
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme in api_settings.AUTH_HEADER_TYPES


def needs_no_session(request: HttpRequest) -> bool:
    path = request.path_info
    if path.startswith(SESSIONLESS_PATH_PREFIXES):
        return True
    if not path.startswith("/api/"):
        return False
    return settings.SESSION_COOKIE_NAME not in request.COOKIES or carries_bearer_token(request)


class _SkippedWithoutSession(MiddlewareMixin):
    """Runs the middleware only for requests that can use a session (`needs_no_session` says which cannot)."""

    def __call__(self, request: HttpRequest) -> Any:
        if needs_no_session(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserSessionMiddleware(_SkippedWithoutSession, SessionMiddleware):
    """Django's SessionMiddleware, except for requests that cannot use a session."""


class BrowserAuthenticationMiddleware(_SkippedWithoutSession, AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, except for requests that cannot use a session (DRF sets their user)."""


class BrowserMessageMiddleware(_SkippedWithoutSession, MessageMiddleware):
    """Django's MessageMiddleware, except for requests that cannot use a session."""
