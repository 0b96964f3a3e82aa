"""A URL conf for tests only: the project's URLs plus a view that fails, to see how a crash is answered."""

from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from config.urls import urlpatterns as project_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def crash(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals that must not leak")


@api_view(["POST"])
@permission_classes([AllowAny])
def echo(request):  # type: ignore[no-untyped-def]
    from rest_framework.response import Response

    return Response(request.data)


def plain_crash(request):  # type: ignore[no-untyped-def]
    raise RuntimeError("secret internals that must not leak")


urlpatterns = [
    path("api/v1/test-crash/", crash),
    path("api/v1/test-echo/", echo),
    path("plain-crash/", plain_crash),
    *project_urlpatterns,
]

handler404 = "apps.core.views.json_not_found"
handler500 = "apps.core.views.json_server_error"
