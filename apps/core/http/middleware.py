import secrets
from collections.abc import Callable
from io import BytesIO
from typing import Any, NamedTuple, TypeVar

from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_REPORT_ONLY
from csp.constants import NONCE
from csp.middleware import CSPMiddleware
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse
from django.utils.functional import SimpleLazyObject, empty
from django_guid import get_guid
from django_guid.context import guid

from apps.core.observability.context import client_ip, is_valid_request_id, peer_is_trusted_proxy, request_client_ip

F = TypeVar("F", bound=Callable[..., Any])
REQUEST_ID_HEADER = "X-Request-ID"
REQUEST_ID_META_KEY = "HTTP_X_REQUEST_ID"
FORWARDED_META_KEYS = ("HTTP_X_FORWARDED_FOR", "HTTP_X_FORWARDED_PROTO")
BODY_LIMIT_ATTRIBUTE = "max_request_body_bytes"  # set on a view by request_body_limit


class RequestContextMiddleware:
    """The request id and the client address, resolved once, first of all.

    The id is the client's `X-Request-ID` when it is 1 to 64 of `[A-Za-z0-9._-]`, else a fresh one, so nothing the
    client wrote otherwise is echoed, logged or stored. It goes into django-guid's context (its log filter puts it
    on every line, `get_guid()` reads it) and back in the answer's `X-Request-ID`. This replaces django-guid's own
    middleware, which read and checked the header and its URL rules twice per request: a tenth of `/health/live/`.

    The forwarded headers of a peer that is not one of TRUSTED_PROXIES are dropped here, before SecurityMiddleware:
    Django reads X-Forwarded-Proto itself (SECURE_PROXY_SSL_HEADER) for `request.is_secure()`, and nothing after
    this point may believe a header any client can send.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request.META.get(REQUEST_ID_META_KEY)
        if request_id is None or not is_valid_request_id(request_id):
            request_id = secrets.token_hex(16)
        # Left set after the answer: Django logs a 4xx or 5xx once the middleware has returned, with this id.
        guid.set(request_id)
        if not peer_is_trusted_proxy(request):
            for key in FORWARDED_META_KEYS:
                request.META.pop(key, None)
        address_token = client_ip.set(request_client_ip(request))
        try:
            response = self.get_response(request)
        finally:
            client_ip.reset(address_token)
        response[REQUEST_ID_HEADER] = request_id  # a page on another origin reads it: CORS_EXPOSE_HEADERS
        return response


def request_body_limit(max_bytes: int) -> Callable[[F], F]:
    """Give a view (or a viewset action) a body limit of its own instead of MAX_REQUEST_BODY_BYTES."""

    def mark(view: F) -> F:
        setattr(view, BODY_LIMIT_ATTRIBUTE, max_bytes)
        return view

    return mark


class RequestBodyLimitMiddleware:
    """A body over its view's limit is answered 413 before any of it is read, whatever its media type.

    DRF parses JSON straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE (form bodies only) never
    applies to it. A declared Content-Length is checked as is; a chunked body (no Content-Length, which Django
    would otherwise take as empty) is read up to the limit and no further. Runs as a view middleware, before CSRF's,
    which may read a form body.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        limit = _view_limit(request, view_func) or settings.MAX_REQUEST_BODY_BYTES
        declared = request.META.get("CONTENT_LENGTH")  # not request.headers: building that costs more than this
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return JsonResponse({"detail": "Content-Length is not a number.", "code": "parse_error"}, status=400)
            return _too_large(limit) if length > limit else None
        if "chunked" not in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            return None
        if not request.META.get("wsgi.input_terminated"):
            # The server hands over the raw, still chunk-framed stream: its end cannot be found safely.
            return JsonResponse(
                {"detail": "Send a Content-Length with the body.", "code": "length_required"}, status=411
            )
        body = request.META["wsgi.input"].read(limit + 1)
        if len(body) > limit:
            return _too_large(limit)
        request.META["CONTENT_LENGTH"] = str(len(body))
        request._stream = BytesIO(body)  # noqa: SLF001 - the body read once, put back where WSGIRequest reads it
        return None


def _view_limit(request: HttpRequest, view_func: Callable[..., Any]) -> int | None:
    limit: int | None = getattr(view_func, BODY_LIMIT_ATTRIBUTE, None)
    actions: dict[str, str] = getattr(view_func, "actions", None) or {}  # a DRF viewset: the action's method has it
    if limit is None and actions:
        handler = getattr(getattr(view_func, "cls", None), actions.get((request.method or "").lower(), ""), None)
        limit = getattr(handler, BODY_LIMIT_ATTRIBUTE, None)
    return limit


def _too_large(limit: int) -> JsonResponse:
    return JsonResponse(
        {"detail": f"The request body is larger than {limit} bytes.", "code": "request_too_large"}, status=413
    )


def _resolved_user(request: HttpRequest) -> Any:
    """The user the view saw (DRF sets the token's user here too), or None when nothing asked for it: a lazy user
    that was never read is not looked up now, so an answer made without the database (an outage's 503) stays so."""
    user = getattr(request, "user", None)
    if isinstance(user, SimpleLazyObject) and user._wrapped is empty:  # noqa: SLF001 - SimpleLazyObject: was the user ever read?
        return None
    return user


class PrivateCacheMiddleware:
    """An answer to a signed-in user is theirs alone: `Cache-Control: private, no-store`, so neither a shared proxy
    nor the browser's disk keeps it, unless the view chose its own caching."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        user = _resolved_user(request)
        if user is not None and user.is_authenticated and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "private, no-store"
        return response


class JsonApiErrorsMiddleware:
    """Under /api/, a 404 or 500 that Django rendered as HTML (unknown path, DEBUG pages) becomes JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith("/api/") and response.status_code in (404, 500) and not _is_json(response):
            body: dict[str, object] = {"detail": "Not found.", "code": "not_found"}
            if response.status_code == 500:  # noqa: PLR2004 - HTTP 500
                body = {"detail": "Internal server error.", "code": "server_error", "request_id": get_guid()}
            return JsonResponse(body, status=response.status_code)
        return response


def _is_json(response: HttpResponse) -> bool:
    return "json" in response.get("Content-Type", "")


# Set on a response by django-csp's decorators (csp_exempt, csp_update, ...): such a response gets its own policy.
_CSP_OVERRIDES = frozenset(
    f"_csp_{kind}{suffix}" for kind in ("exempt", "config", "update", "replace") for suffix in ("", "_ro")
)
_CSP_SETTINGS = ("CONTENT_SECURITY_POLICY", "CONTENT_SECURITY_POLICY_REPORT_ONLY")


class _PrebuiltPolicies(NamedTuple):
    headers: tuple[tuple[str, str, tuple[str, ...]], ...]  # (header, policy, excluded path prefixes), when set
    uses_nonce: bool  # some directive names csp.constants.NONCE


class PrebuiltPolicyCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, with its headers built once per settings instead of for every response.

    django-csp rebuilds both headers from settings on every response (two policy builds, two dataclass copies,
    a lazy nonce put on every request before and after): about a quarter of `/health/live/`'s CPU. Here each
    header, its policy and its excluded prefixes are read once, and again only when a setting changes (tests).
    `request.csp_nonce` is there only when a directive names NONCE: without one, no header could carry it. A
    response that carries a nonce or a decorator's override still goes through django-csp's own path.
    """

    _built: _PrebuiltPolicies | None = None

    def process_request(self, request: HttpRequest) -> None:
        if self._policies().uses_nonce:
            super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        policies = self._policies()
        if policies.uses_nonce or not _CSP_OVERRIDES.isdisjoint(vars(response)):
            return super().process_response(request, response)
        if response.status_code in (404, 500) and settings.DEBUG:  # Django's debug pages, as django-csp leaves them
            return response
        for header, policy, excluded in policies.headers:
            if header not in response and not request.path_info.startswith(excluded):
                response[header] = policy
        return response

    @staticmethod
    def _policies() -> _PrebuiltPolicies:
        built = PrebuiltPolicyCSPMiddleware._built
        if built is None:
            built = PrebuiltPolicyCSPMiddleware._built = _build_policies()
        return built


def _build_policies() -> _PrebuiltPolicies:
    headers = []
    uses_nonce = False
    for header, setting, report_only in (
        (CSP_HEADER, _CSP_SETTINGS[0], False),
        (CSP_HEADER_REPORT_ONLY, _CSP_SETTINGS[1], True),
    ):
        config = getattr(settings, setting, None) or {}
        directives = (config.get("DIRECTIVES") or {}).values()
        uses_nonce |= any(isinstance(sources, list | tuple | set) and NONCE in sources for sources in directives)
        if policy := build_policy(report_only=report_only):
            headers.append((header, policy, tuple(config.get("EXCLUDE_URL_PREFIXES") or ())))
    return _PrebuiltPolicies(tuple(headers), uses_nonce)


@receiver(setting_changed)
def _rebuild_policies(*, setting: str, **kwargs: Any) -> None:
    if setting in _CSP_SETTINGS:
        PrebuiltPolicyCSPMiddleware._built = None  # noqa: SLF001 - the class's own cache
