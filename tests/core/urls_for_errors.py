"""A URL conf for tests only: the project's URLs plus views that fail, to see how a crash or a domain error is
answered."""

import importlib
import pkgutil

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

import apps
from apps.core.exceptions import ApplicationError
from config.urls import urlpatterns as project_urlpatterns


def application_errors() -> dict[str, type[ApplicationError]]:
    """Every ApplicationError subclass in apps/, by dotted name (every module is imported to find them)."""
    for module in pkgutil.walk_packages(apps.__path__, "apps."):
        importlib.import_module(module.name)
    found: dict[str, type[ApplicationError]] = {}
    pending = [ApplicationError]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found[f"{subclass.__module__}.{subclass.__qualname__}"] = subclass
            pending.append(subclass)
    return found


@api_view(["GET"])
@permission_classes([AllowAny])
def raise_application_error(request, name):
    raise application_errors()[name]()


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):
    raise RuntimeError("secret internals that must not leak")


@api_view(["POST"])
@permission_classes([AllowAny])
def echo(request):
    from rest_framework.response import Response

    return Response(request.data)


def plain_crash(request):
    raise RuntimeError("secret internals that must not leak")


urlpatterns = [
    path("api/v1/test-crash/", crash),
    path("api/v1/test-echo/", echo),
    path("api/v1/test-raise/<str:name>/", raise_application_error),
    path("plain-crash/", plain_crash),
    *project_urlpatterns,
]

handler404 = "apps.core.views.json_not_found"
handler500 = "apps.core.views.json_server_error"
