"""The request parsers: JSON through orjson for everyone; HTML forms for the browsable API's signed-in session only.

The browsable API draws its HTML forms only when a view lists a form parser, so the forms' two parsers are on every
view. They read a body only from a signed-in browser session (`is_browser_session`); anyone else sending a form gets
the same 415 as if no form parser were listed, so API clients keep one contract, JSON, and the schema lists only
that (PARSER_WHITELIST in config/settings/api.py names the classes it shows: these two are not subclasses of DRF's
form parsers, so they stay out of it). The image upload lists DRF's own MultiPartParser, for every client.
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from drf_orjson_renderer.parsers import ORJSONParser
from drf_orjson_renderer.renderers import ORJSONRenderer
from rest_framework import parsers
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import UnsupportedMediaType

from apps.core.http.browser import carries_bearer_token


class JSONParser(ORJSONParser):
    """orjson's parser, naming its renderer as DRF's JSONParser does: the browsable API fills its raw-data form
    with the serializer's initial values (the default currency, ...) only when the parser names one."""

    renderer_class = ORJSONRenderer


def is_browser_session(request: Any) -> bool:
    """A person at the browsable API: signed in by the session cookie, no bearer token, on a view that
    authenticates sessions (DRF's SessionAuthentication then checks the CSRF token of every unsafe request).

    Read from the Django request rather than DRF's `request.successful_authenticator`: that check reads the form's
    CSRF field, which parses the body, which would ask again who authenticated."""
    if request is None:
        return False
    django_request = request._request
    user = getattr(django_request, "user", None)  # set by the session middleware, which skips bearer requests
    return (
        user is not None
        and user.is_authenticated
        and not carries_bearer_token(django_request)
        and any(isinstance(authenticator, SessionAuthentication) for authenticator in request.authenticators)
    )


class _BrowserOnlyParser(parsers.BaseParser):
    """Parses with `parser` for a browser session; refuses the media type (415) for every other caller."""

    parser: ClassVar[type[parsers.BaseParser]]

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Mapping[str, Any] | None = None) -> Any:
        request = (parser_context or {}).get("request")
        if not is_browser_session(request):
            raise UnsupportedMediaType(media_type or self.media_type)
        return self.parser().parse(stream, media_type, parser_context)


class BrowserFormParser(_BrowserOnlyParser):
    """`application/x-www-form-urlencoded`, from the browsable API's session only."""

    media_type = parsers.FormParser.media_type
    parser = parsers.FormParser


class BrowserMultiPartParser(_BrowserOnlyParser):
    """`multipart/form-data` (what the browsable API's HTML forms post), from its session only."""

    media_type = parsers.MultiPartParser.media_type
    parser = parsers.MultiPartParser
