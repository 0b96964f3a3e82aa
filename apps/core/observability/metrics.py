"""The request figures, what every /metrics answer is made of, and the Celery queue depths.

Counters live with whoever counts them (each app's `metrics.py`); an app's figures computed at scrape time are a
collector it registers here (`register_collector`, from its AppConfig.ready), so both exporters serve them: the
web's `/metrics` (apps/core/views.py) and each Celery worker's own port (worker_metrics.py). prometheus_client works
across processes when PROMETHEUS_MULTIPROC_DIR is set (gunicorn's workers, a Celery worker's prefork children): an
answer then adds up every process's files in that folder.

Process-local state: the last queue depths read from the broker and when (`_queue_depths`), kept
QUEUE_DEPTH_CACHE_SECONDS so several scrapers of one process cost one broker round trip per period; every process
reads the broker itself, so a fleet's answers agree within that period.
"""

import hmac
import ipaddress
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_prometheus.conf import PROMETHEUS_LATENCY_BUCKETS
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

# In multiprocess mode each metric opens its file in this folder as it is made, here on import; a management command
# may get here before gunicorn's start-up has made the folder.
if settings.PROMETHEUS_MULTIPROC_DIR:
    Path(settings.PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)

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
        # Each (view, method, status)'s two series, as prometheus_client's labels() answers them (it keeps them
        # too, behind a lock and a check of the labels); as bounded as the series: named views, known methods.
        self.series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        view = (match.view_name if match is not None else None) or "<unnamed view>"
        method = request.method if request.method in KNOWN_METHODS else "<invalid method>"
        key = (view, method, response.status_code)
        series = self.series.get(key)
        if series is None:
            latency = request_latency_seconds.labels(view, method)
            series = self.series[key] = (latency, responses_total.labels(str(response.status_code), view, method))
        latency, responses = series
        latency.observe(time.perf_counter() - started)
        responses.inc()
        return response


# --- what an answer holds -------------------------------------------------------------------------------------

_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Serve `collector`'s figures, computed when scraped, from every exporter of this process."""
    _collectors.append(collector)


def exposition_registry(multiprocess_dir: str | None = None) -> CollectorRegistry:
    """What one answer exports: every process's counters (the files in `multiprocess_dir` in multiprocess mode,
    else this process's registry) and the registered collectors."""
    registry = CollectorRegistry(auto_describe=False)
    if multiprocess_dir:
        multiprocess.MultiProcessCollector(registry, path=multiprocess_dir)
    else:
        registry.register(REGISTRY)
    for collector in _collectors:
        registry.register(collector)
    return registry


def scraper_allowed(client_address: str | None, authorization: str) -> bool:
    """Whether a scraper may read metrics: it sends `Authorization: Bearer <METRICS_TOKEN>`, or its address is in
    METRICS_ALLOWED_NETWORKS (loopback by default)."""
    if settings.METRICS_TOKEN:
        scheme, _, credentials = authorization.partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(credentials.encode(), settings.METRICS_TOKEN.encode()):
            return True
    if not client_address:
        return False
    address = ipaddress.ip_address(client_address)
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.METRICS_ALLOWED_NETWORKS)


# --- Celery queue depths --------------------------------------------------------------------------------------

QUEUE_DEPTH_CACHE_SECONDS = 5.0
_queue_depths: tuple[float, dict[str, int]] = (-float("inf"), {})
_queue_depths_lock = threading.Lock()


def celery_queue_depths() -> dict[str, int]:
    """Messages waiting in each Celery queue (passive declares: nothing is created), read at most once per
    QUEUE_DEPTH_CACHE_SECONDS; empty with no broker (eager) or when it cannot be reached."""
    global _queue_depths  # noqa: PLW0603 - process-local state, see the opening comment
    from celery import current_app

    if current_app.conf.task_always_eager:
        return {}
    with _queue_depths_lock:
        read_at, depths = _queue_depths
        if time.monotonic() - read_at >= QUEUE_DEPTH_CACHE_SECONDS:
            depths = dict(_read_queue_depths(current_app.conf.task_queues or ()))
            # A broker that is down is asked again only after the same period: scrapes never queue up behind it.
            _queue_depths = (time.monotonic(), depths)
        return depths


def _read_queue_depths(queues: Iterable[object]) -> Iterator[tuple[str, int]]:
    from celery import current_app

    try:
        with current_app.connection_for_read() as connection:
            for queue in queues:
                name = str(getattr(queue, "name", queue))
                # A passive declare of a missing queue closes its channel: one channel per queue.
                with connection.channel() as channel:
                    try:
                        # kombu-stubs type the channel as StdChannel, which leaves queue_declare out.
                        _, depth, _ = channel.queue_declare(queue=name, passive=True)  # type: ignore[attr-defined]
                    except connection.channel_errors:
                        depth = 0  # not declared yet: nothing was ever published to it
                yield name, int(depth)
    except Exception as exc:  # kombu raises a family of transport errors; a scrape must still answer  # noqa: BLE001 - a figure that cannot be read is left out, never breaks a scrape
        logger.debug("Could not read the Celery queue depths: %s", exc)


class CeleryQueueDepthCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        depths = celery_queue_depths()
        if not depths:
            return
        gauge = GaugeMetricFamily("celery_queue_depth", "Tasks waiting in each Celery queue", labels=["queue"])
        for queue, depth in sorted(depths.items()):
            gauge.add_metric([queue], depth)
        yield gauge


register_collector(CeleryQueueDepthCollector())
