"""Traces, error reports and metrics: OpenTelemetry and Sentry (apps/core/observability/tracing.py), Prometheus.

/metrics is served by apps/core/views.py, and by each Celery worker on its own port (worker_metrics.py)."""

from config.settings.env import env

# Each off unless its variable is set.
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="django-rest-monolith")
SENTRY_DSN = env("SENTRY_DSN", default="")
SENTRY_ENVIRONMENT = env("SENTRY_ENVIRONMENT", default="")

# Loopback only unless a deployment names its scraper's network, or gives the scraper a bearer token.
METRICS_ALLOWED_NETWORKS = env.list("METRICS_ALLOWED_NETWORKS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env("METRICS_TOKEN", default="")
PROMETHEUS_EXPORT_MIGRATIONS = False
# prometheus_client's multiprocess mode (gunicorn workers, Celery) writes into this folder from the first metric;
# apps.core makes it when Django starts (management commands run before gunicorn has made it).
PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default="")
# Each Celery worker serves its own /metrics on this port (0: off), to the same scrapers as the web's /metrics.
WORKER_METRICS_PORT = env.int("WORKER_METRICS_PORT", default=9808)
WORKER_METRICS_ADDRESS = env("WORKER_METRICS_ADDRESS", default="0.0.0.0")  # noqa: S104 - scrapers come from elsewhere
