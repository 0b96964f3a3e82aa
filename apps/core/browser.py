"""Django's session, authentication and messages middleware, skipped by API requests that carry a bearer token.

Such a request authenticates with its token in DRF (the bearer scheme never falls back to the session), so reading
the session and putting its user and messages on the request would be work for nothing; every other request (the
admin, the browsable API, an API client signed in with a session) runs them as before. CSRF stays Django's own
middleware: DRF's views are exempt from it anyway, and DRF enforces it for session authentication itself.
"""

from typing import Any

from django.contrib.auth.middleware import AuthenticationMiddleware
from django.contrib.messages.middleware import MessageMiddleware
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest
from django.utils.deprecation import MiddlewareMixin
from rest_framework_simplejwt.settings import api_settings


def carries_bearer_token(request: HttpRequest) -> bool:
    """An /api/ request whose Authorization header names the scheme simplejwt authenticates (exactly as it reads it)."""
    if not request.path_info.startswith("/api/"):
        return False
    scheme = request.META.get("HTTP_AUTHORIZATION", "").split(" ", 1)[0]
    return scheme in api_settings.AUTH_HEADER_TYPES


class _SkippedByBearerRequests(MiddlewareMixin):
    def __call__(self, request: HttpRequest) -> Any:
        if carries_bearer_token(request):
            return self.get_response(request)
        return super().__call__(request)


class BrowserSessionMiddleware(_SkippedByBearerRequests, SessionMiddleware):
    """Django's SessionMiddleware, except for API requests with a bearer token."""


class BrowserAuthenticationMiddleware(_SkippedByBearerRequests, AuthenticationMiddleware):
    """Django's AuthenticationMiddleware, except for API requests with a bearer token (DRF sets their user)."""


class BrowserMessageMiddleware(_SkippedByBearerRequests, MessageMiddleware):
    """Django's MessageMiddleware, except for API requests with a bearer token."""
