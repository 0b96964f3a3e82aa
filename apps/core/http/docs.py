"""The OpenAPI schema and the Swagger UI page over it, as drf-spectacular serves them, with two repairs.

Process state: `_GENERATING`, a lock held while a request generates the schema. drf-spectacular's generation keeps
global state (extension classes it imports on first use, `GENERATOR_STATS`, settings it patches per view) and is not
thread-safe (its issues #1123 and #1368): under a threaded server (`make run`, gunicorn's gthread workers) two first
reads at once answered a 500. Nothing is kept in it, so nothing is invalidated; each process of a fleet generates on
its own, as before, and only its own threads wait for one another.
"""

import threading
from typing import Any

from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

_GENERATING = threading.Lock()


class SchemaView(SpectacularAPIView):
    """The OpenAPI schema of this API (YAML, or JSON with `?format=json`)."""

    @extend_schema(exclude=True)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        with _GENERATING:
            return super().get(request, *args, **kwargs)


class SwaggerView(SpectacularSwaggerSplitView):
    """Swagger UI over the schema; its init script comes from its own URL (`?script`), for the
    Content-Security-Policy."""

    def get_renderers(self) -> list[BaseRenderer]:
        # The page's template renders only its own context: DRF's OPTIONS metadata through it is a 500. OPTIONS
        # answers that metadata as JSON instead, as every other endpoint does.
        if self.request.method == "OPTIONS":
            return [ORJSONRenderer()]
        return super().get_renderers()
