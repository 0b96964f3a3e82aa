"""OpenTelemetry traces and Sentry error reports, each on only when its variable is set.

With `OTEL_EXPORTER_OTLP_ENDPOINT` the web process traces each request (Django), its SQL (psycopg), Redis calls and
task publishes (Celery), exported over OTLP/HTTP; a Celery worker continues the trace of the request that
enqueued its task (the context travels in the task's headers). The request id is the span attribute `request.id`.
With `SENTRY_DSN` errors go to Sentry (Django and Celery integrations) without personal data.

Off (the default) nothing is imported and nothing is patched: the only cost left is one boolean test where a
batch of work is handed to another thread (`current_context`).

Process-local state: whether this process installed tracing (`_enabled`), set once at start; each process of a
fleet installs its own.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings

logger = logging.getLogger(__name__)

REQUEST_ID_ATTRIBUTE = "request.id"
_enabled = False


def setup_tracing(*, service_name: str) -> bool:
    """Install the tracer provider and the instrumentations once per process; False when tracing is off."""
    global _enabled  # noqa: PLW0603 - process-local state, see the opening comment
    endpoint = settings.OTEL_EXPORTER_OTLP_ENDPOINT
    if not endpoint or _enabled:
        return _enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    exporter = OTLPSpanExporter(endpoint=f"{endpoint.rstrip('/')}/v1/traces")
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument(response_hook=_tag_request_id)
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(skip_dep_check=True)
    RedisInstrumentor().instrument()
    _enabled = True
    logger.info("OpenTelemetry traces go to %s as %s", endpoint, service_name)
    return True


def _tag_request_id(span: Any, request: Any, response: Any) -> None:
    # The response hook runs after RequestContextMiddleware has set the id (it runs inside the tracing one).
    request_id = response.get("X-Request-ID") if response is not None else None
    if request_id and span is not None and span.is_recording():
        span.set_attribute(REQUEST_ID_ATTRIBUTE, request_id)


def current_context() -> Any:
    """The active trace context, to hand to another thread with work of this request; None when tracing is off."""
    if not _enabled:
        return None
    from opentelemetry import context

    return context.get_current()


@contextmanager
def attached(trace_context: Any) -> Iterator[None]:
    """Run the block in `trace_context` (from `current_context`); a no-op for None."""
    if trace_context is None:
        yield
        return
    from opentelemetry import context

    token = context.attach(trace_context)
    try:
        yield
    finally:
        context.detach(token)


def setup_error_reporting() -> bool:
    """Send errors to Sentry when SENTRY_DSN is set; False when it is not."""
    if not settings.SENTRY_DSN:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.celery import CeleryIntegration
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=settings.SENTRY_DSN,
        environment=settings.SENTRY_ENVIRONMENT or None,
        release=settings.SERVICE_VERSION,
        integrations=[DjangoIntegration(), CeleryIntegration()],
        send_default_pii=False,
        # Stack frames' variables and request bodies hold what scrubbing by key name misses (SQL parameters
        # with session keys, passwords on their way to the hasher): neither is sent.
        include_local_variables=False,
        max_request_body_size="never",
        traces_sample_rate=0.0,
    )
    return True
