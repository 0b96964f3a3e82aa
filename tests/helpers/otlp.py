"""Receivers the tracing tests start on 127.0.0.1, each stopped with its `with` block: an OTLP/HTTP trace receiver
(the collector is not on PyPI) that decodes every export with the protocol's own protobuf classes and keeps the
spans, and a Sentry ingest endpoint that keeps every envelope's items."""

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from .http_server import QuietHandler, serving


@dataclass(frozen=True)
class ReceivedSpan:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    attributes: dict[str, str]


@dataclass
class Collector:
    port: int = 0
    spans: list[ReceivedSpan] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _decode(body: bytes) -> list[ReceivedSpan]:
    export = ExportTraceServiceRequest()
    export.ParseFromString(body)
    spans = []
    for resource_spans in export.resource_spans:
        resource = {a.key: a.value.string_value for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {a.key: a.value.string_value or str(a.value.int_value) for a in span.attributes}
                spans.append(
                    ReceivedSpan(
                        service=resource.get("service.name", ""),
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        attributes=attributes,
                    )
                )
    return spans


@contextmanager
def otlp_collector() -> Iterator[Collector]:
    state = Collector()
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.read_body()
            if self.path == "/v1/traces":
                with lock:
                    state.spans.extend(_decode(body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as state.port:
        yield state


@dataclass
class Envelopes:
    port: int = 0
    received: list[list[dict]] = field(default_factory=list)  # each envelope's JSON items (headers left out)


def _envelope_items(body: bytes, encoding: str) -> list[dict]:
    if encoding == "gzip":
        body = gzip.decompress(body)
    elif encoding == "br":
        import brotli

        body = brotli.decompress(body)
    items = []
    for line in body.splitlines()[1:]:
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and "type" not in item:
            items.append(item)
    return items


@contextmanager
def sentry_receiver() -> Iterator[Envelopes]:
    state = Envelopes()
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.read_body()
            with lock:
                state.received.append(_envelope_items(body, self.headers.get("Content-Encoding", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler) as state.port:
        yield state
