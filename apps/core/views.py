import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.staticfiles import finders
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect, JsonResponse
from django.templatetags.static import static
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET
from django_guid import get_guid
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.utils import extend_schema, inline_serializer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from rest_framework import routers, serializers
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.renderers import TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.background.outages import DATABASE_ERRORS, database_unavailable_response, is_outage, mark_logged
from apps.core.observability import health, metrics
from apps.core.observability.context import request_client_ip


class ServiceHomeRenderer(TemplateHTMLRenderer):
    """`/` for a browser (Accept: text/html): links instead of a JSON body showing paths as plain text."""

    # Whatever the answer (OPTIONS too), a browser gets the page of links.
    template_name = "core/home.html"


ViewFunction = TypeVar("ViewFunction", bound=Callable[..., Any])

_check = inline_serializer(
    "HealthCheck",
    {
        "status": serializers.ChoiceField(choices=["ok", "down"]),
        "latency_ms": serializers.FloatField(),
        "backend": serializers.CharField(required=False),
        "error": serializers.CharField(required=False),
    },
)
_health = inline_serializer(
    "Health",
    {
        "status": serializers.ChoiceField(choices=["ok", "degraded", "down"]),
        "version": serializers.CharField(),
        "checks": inline_serializer("HealthChecks", {"database": _check, "cache": _check, "broker": _check}),
    },
)


def _public(view: ViewFunction) -> ViewFunction:
    """A platform endpoint: no authentication, no throttling, never cached by a proxy."""
    view = permission_classes([AllowAny])(view)
    view = authentication_classes([])(view)
    return throttle_classes([])(view)


@extend_schema(
    tags=["service"],
    responses=inline_serializer(
        "ServiceInfo",
        {
            "name": serializers.CharField(),
            "version": serializers.CharField(),
            "docs": serializers.CharField(),
            "health": serializers.CharField(),
        },
    ),
)
@api_view(["GET", "HEAD"])
@renderer_classes([ORJSONRenderer, ServiceHomeRenderer])
@_public
def service_info(request: Request) -> Response:
    """What this service is and where its docs and health check live (JSON; a browser asking for HTML gets a page of
    links: the API root, the docs, the admin, the health check)."""
    body = {
        "name": settings.SERVICE_NAME,
        "version": settings.SERVICE_VERSION,
        "docs": "/api/docs/",
        "health": "/health/",
    }
    return Response(body)


class ApiRootView(routers.APIRootView):
    """The API's endpoints, version 1. Sign in (`POST /api/v1/auth/login/`, or **Log in** here) to use them; the
    reference is at `/api/docs/`."""

    # A list of links: anyone may read it, as DRF's DefaultRouter root (the endpoints themselves say who may call).
    permission_classes = [AllowAny]


@extend_schema(tags=["service"], responses={200: _health, 503: _health})
@api_view(["GET", "HEAD"])
@_public
def health_view(request: Request) -> Response:
    """Database, cache and broker checks. 503 only when the database is down; a cache or broker outage is `degraded`.

    Each check answers `status` and `latency_ms`; why a check is down (`error`) and its `backend` are shown only to
    the metrics audience (`METRICS_ALLOWED_NETWORKS` or `Authorization: Bearer <METRICS_TOKEN>`), and logged."""
    overall, checks = health.service_health()
    if not metrics.scraper_allowed(request_client_ip(request), request.headers.get("Authorization", "")):
        checks = {name: health.public_result(check) for name, check in checks.items()}
    body = {"status": overall, "version": settings.SERVICE_VERSION, "checks": checks}
    response = Response(body, status=503 if overall == health.DOWN else 200, headers={"Cache-Control": "no-store"})
    # Its body reports the outage; probes every few seconds must not each log an error.
    return mark_logged(response)


LIVE = {"status": "ok"}


class LiveView(APIView):
    """200 while the process serves. Touches no dependency."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(tags=["service"], responses=inline_serializer("Live", {"status": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        return Response(LIVE)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Probes call this every few seconds from every balancer, and it has one answer: a GET skips DRF's request
        # wrapping, content negotiation and rendering (two thirds of the view's time). Any other method is DRF's.
        if request.method == "GET":
            return JsonResponse(LIVE)
        return super().dispatch(request, *args, **kwargs)


live_view = LiveView.as_view()


@extend_schema(
    tags=["service"],
    responses={
        200: inline_serializer("Ready", {"status": serializers.CharField()}),
        503: inline_serializer("NotReady", {"status": serializers.CharField(), "reason": serializers.CharField()}),
    },
)
@api_view(["GET", "HEAD"])
@_public
def ready_view(request: Request) -> Response:
    """200 when the database answers and every migration is applied, else 503; 503 as well while this instance
    drains before stopping, so the balancer stops sending it requests."""
    if health.draining():
        return Response({"status": "not ready", "reason": "draining"}, status=503)
    database = health.check_database()
    if database["status"] != health.OK:
        return mark_logged(Response({"status": "not ready", "reason": "database unreachable"}, status=503))
    try:
        applied = health.migrations_applied()
    except Exception:  # noqa: BLE001 - a readiness probe answers 503 on any failure to read the migration state
        applied = False
    if not applied:
        return Response({"status": "not ready", "reason": "migrations pending"}, status=503)
    return Response({"status": "ok"})


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format, for scrapers on the networks in METRICS_ALLOWED_NETWORKS (loopback by default) or
    sending `Authorization: Bearer <METRICS_TOKEN>`."""
    if not metrics.scraper_allowed(request_client_ip(request), request.headers.get("Authorization", "")):
        return JsonResponse(
            {"detail": "Metrics are not served to this network.", "code": "permission_denied"}, status=403
        )
    registry = metrics.exposition_registry(settings.PROMETHEUS_MULTIPROC_DIR)
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)


def json_server_error(request: HttpRequest) -> JsonResponse:
    """Django's 500 handler, called with the exception being handled: a database outage met outside a DRF view
    (the admin, a middleware that reads the session's user) is the same 503 as in the API."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS) and is_outage(exc):
        return database_unavailable_response(exc, request)
    return JsonResponse(
        {"detail": "Internal server error.", "code": "server_error", "request_id": get_guid()}, status=500
    )


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse({"detail": "The request body is too large.", "code": "request_too_large"}, status=413)
    return JsonResponse({"detail": "Bad request.", "code": "bad_request"}, status=400)


def json_permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(
        {"detail": "You do not have permission to perform this action.", "code": "permission_denied"}, status=403
    )


# ReDoc's bundle names its "API docs by Redocly" badge on cdn.redoc.ly, with no option to leave it out
# (drf-spectacular-sidecar issue #11): the Content-Security-Policy refused it, an error in every visitor's console.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
# An empty image the policy allows (img-src data:): the badge keeps its text and links to Redocly as before.
REDOC_LOCAL_LOGO = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"


@functools.cache
def _redoc_bundle() -> bytes:
    """The sidecar's ReDoc bundle with its badge image served inline. Held for the process's life: it changes only
    with the installed package, that is with a new deployment (a new process)."""
    path = finders.find(REDOC_BUNDLE)
    if not isinstance(path, str):
        raise FileNotFoundError(REDOC_BUNDLE)
    bundle = Path(path).read_bytes()
    if REDOC_CDN_LOGO not in bundle:
        raise RuntimeError(f"{REDOC_BUNDLE} no longer names {REDOC_CDN_LOGO!r}: check REDOC_DIST")
    return bundle.replace(REDOC_CDN_LOGO, REDOC_LOCAL_LOGO)


@require_GET
@cache_control(public=True, max_age=86400)
def redoc_bundle(request: HttpRequest) -> HttpResponse:
    """ReDoc's script for /api/redoc/ (SPECTACULAR_SETTINGS REDOC_DIST), loading nothing from outside the service."""
    return HttpResponse(_redoc_bundle(), content_type="text/javascript; charset=utf-8")


@require_GET
@cache_control(public=True, max_age=86400)
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask every page's host for /favicon.ico: the icon, instead of a 404 in the log on every page."""
    return HttpResponseRedirect(static("core/favicon.ico"))
