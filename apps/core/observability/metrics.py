"""Domain counters and the request figures, exported on /metrics by django-prometheus' export view.

prometheus_client works across gunicorn workers when PROMETHEUS_MULTIPROC_DIR is set (the Docker image and
`make bench` set it); the export view then aggregates every worker's files.
"""

import time
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.conf import PROMETHEUS_LATENCY_BUCKETS
from prometheus_client import Counter, Histogram

# In multiprocess mode each metric opens its file in this folder as it is made, here on import; a management command
# may get here before gunicorn's start-up has made the folder.
if settings.PROMETHEUS_MULTIPROC_DIR:
    Path(settings.PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

messages_created_total = Counter("messages_created", "Messages accepted by the API")
messages_delivered_total = Counter("messages_delivered", "Messages the SMS backend accepted")
messages_failed_total = Counter("messages_failed", "Messages that failed once every retry was spent")
products_cache_hits_total = Counter("products_cache_hits", "Catalog reads answered from the cache")
products_cache_misses_total = Counter("products_cache_misses", "Catalog reads that had to query the database")

# The names and labels of django-prometheus' own two request series, so its dashboards keep working.
request_latency_seconds = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Histogram of request processing time labelled by view.",
    ["view", "method"],
    buckets=PROMETHEUS_LATENCY_BUCKETS,
)
responses_total = Counter(
    "django_http_responses_total_by_status_view_method",
    "Count of responses by status, view, method.",
    ["status", "view", "method"],
)
# Any other method is one label value, so a client cannot make new series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


class RequestMetricsMiddleware:
    """Latency by view and method, and responses by status, view and method: the two request series of
    django-prometheus, recorded by one middleware instead of its pair, which wrote 17 series per request and took a
    quarter of `/health/live/`'s CPU (0.10 of 0.43 ms, `python -m bench.profile health_live --plain`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match is not None else None) or "<unnamed view>"
        method = request.method if request.method in KNOWN_METHODS else "<invalid method>"
        request_latency_seconds.labels(view, method).observe(time.perf_counter() - started)
        responses_total.labels(str(response.status_code), view, method).inc()
        return response
