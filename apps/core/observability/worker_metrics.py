"""Each Celery worker serves its own metrics: `/metrics` on WORKER_METRICS_PORT (0: off), bound to
WORKER_METRICS_ADDRESS, to the same scrapers as the web's (`metrics.scraper_allowed`).

The counters are counted in the worker's prefork children, so the worker runs prometheus_client's multiprocess
mode in a folder of its own (`prepare_folder`: new at each start, so a worker instance's counters start from zero,
as a gunicorn's do, and Prometheus' rate() and increase() take the drop as a counter reset). config/celery.py points
PROMETHEUS_MULTIPROC_DIR at it before the worker imports any metric, and starts the server in the worker's main
process once its children are up; the answer adds up every child's files, with the collectors registered in
`metrics` computed at scrape time.

Process-local state: the server and the folder, both ended with the worker.
"""

import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIServer

logger = logging.getLogger(__name__)

_server: WSGIServer | None = None
_folder: Path | None = None
_folder_owner: int | None = None  # the process that made it: not a child forked later (an embedded beat)


def prepare_folder(*, base: str) -> Path:
    """A new, empty multiprocess folder for this worker: under `base` (PROMETHEUS_MULTIPROC_DIR) or the temporary
    folder; `stop` removes it."""
    global _folder, _folder_owner  # noqa: PLW0603 - process-local state, see the opening comment
    if _folder is not None:  # the tasks loaded again
        return _folder
    if base:
        Path(base).mkdir(parents=True, exist_ok=True)
    _folder = Path(tempfile.mkdtemp(prefix="celery-metrics-", dir=base or None))
    _folder_owner = os.getpid()
    return _folder


def serve(*, port: int, address: str, folder: Path) -> None:
    """Start answering scrapes in a thread of this (the worker's main) process. A port already taken is logged and
    leaves the worker running without its metrics."""
    global _server  # noqa: PLW0603 - process-local state, see the opening comment
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes every few seconds would each write a line to stderr."""

    try:
        _server = make_server(address, port, metrics_app(folder), handler_class=QuietHandler)
    except OSError as exc:
        logger.warning("Worker metrics not served on %s:%s: %s", address, port, exc)
        return
    threading.Thread(target=_server.serve_forever, name="worker-metrics", daemon=True).start()
    logger.info("Worker metrics on http://%s:%s/metrics", address, port)


def stop() -> None:
    """Stop serving and remove the folder (a process still writing keeps its open files until it ends)."""
    global _server, _folder  # noqa: PLW0603 - process-local state, see the opening comment
    if _folder is not None and _folder_owner == os.getpid():
        shutil.rmtree(_folder, ignore_errors=True)
        _folder = None
    if _server is not None:
        _server.server_close()
        _server = None


StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def metrics_app(folder: Path) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application of the worker's port: GET /metrics, one scrape at a time."""
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    from apps.core.observability import metrics

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != "/metrics":
            return _answer(start_response, "404 Not Found", b'{"detail": "Not found."}')
        if environ.get("REQUEST_METHOD") not in {"GET", "HEAD"}:
            return _answer(start_response, "405 Method Not Allowed", b'{"detail": "Method not allowed."}')
        if not metrics.scraper_allowed(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION", "")):
            return _answer(start_response, "403 Forbidden", b'{"detail": "Metrics are not served to this network."}')
        try:
            body = generate_latest(metrics.exposition_registry(str(folder)))
        finally:
            # This thread's database connection (the collectors' queries) is not kept: a child forked later would
            # inherit its socket.
            from django.db import connections

            connections.close_all()
        return _answer(start_response, "200 OK", body, CONTENT_TYPE_LATEST)

    return app


def _answer(
    start_response: StartResponse, status: str, body: bytes, content_type: str = "application/json"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
