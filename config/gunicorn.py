"""gunicorn settings, from the environment: `gunicorn -c config/gunicorn.py config.wsgi`."""

import gc
import os
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any


# Read from os.environ, not through config/settings/env.py: gunicorn loads this file itself, before and apart from
# Django, and these are gunicorn's settings, not Django's.
def _env(name: str, default: str) -> str:
    """The variable's value, or `default` when it is unset or empty (as in a copy of `.env.example`)."""
    return os.environ.get(name) or default


bind = _env("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(_env("GUNICORN_WORKERS", "2"))
threads = int(_env("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(_env("GUNICORN_TIMEOUT", "30"))
# After the drain (below): seconds the workers get to finish the requests they hold once the listener is closed.
graceful_timeout = int(_env("GUNICORN_GRACEFUL_TIMEOUT", "20"))
# Seconds between SIGTERM and closing the listener, while /health/ready/ answers 503 (Django reads it too).
drain_seconds = int(_env("DRAIN_SECONDS", "10"))
keepalive = int(_env("GUNICORN_KEEPALIVE", "5"))
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = _env("GUNICORN_ACCESS_LOG", "") or None
errorlog = "-"
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = False
# gunicorn 25+ opens a control socket at one path per user ($XDG_RUNTIME_DIR or ~/.gunicorn): several instances on a
# host would fight over it, and nothing here uses gunicornc.
control_socket_disable = True


def on_starting(server: Any) -> None:
    _prepare_drain(server)
    # prometheus_client's multiprocess mode keeps one file per worker here; start each run with an empty folder, as
    # its docs ask: the files of dead workers would pile up and slow every scrape. Counters then restart from zero,
    # which Prometheus' rate() and increase() read as a counter reset.
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def post_worker_init(worker: Any) -> None:
    # Everything loaded so far (Django, the URL conf, the apps) lives as long as the worker: moved out of the
    # collector's generations, it is no longer traversed by every full collection, which showed up as latency spikes.
    gc.freeze()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


# The drain. gunicorn stops at once on SIGTERM: it closes the listener, and connections the balancer has already
# sent (its health check has not yet seen the instance go) are refused or reset. Instead SIGTERM creates a file
# that every worker of this instance sees (a folder of its own per master, passed down in the environment, so two
# instances on a host never share it); /health/ready/ answers 503 while it exists; the instance keeps serving for
# `drain_seconds`, then stops as gunicorn always does (listener closed, `graceful_timeout` for in-flight requests).
# gunicorn has no hook for a signal, but its main loop looks each one up as an attribute (`handle_term`) of the
# arbiter: the hook below replaces that attribute on this arbiter only. tests/core/test_drain.py fails if it stops
# being called.
def _prepare_drain(server: Any) -> None:
    folder = tempfile.mkdtemp(prefix="gunicorn-drain-")
    drain_file = Path(folder) / "draining"
    os.environ["GUNICORN_DRAIN_FILE"] = str(drain_file)  # the workers are forked from here and inherit it
    stop_now = server.handle_term
    drain_over = threading.Event()

    def end_drain() -> None:
        drain_over.set()
        os.kill(os.getpid(), signal.SIGTERM)

    def handle_term() -> None:
        if drain_over.is_set():
            stop_now()  # raises StopIteration: gunicorn's own graceful stop
        if drain_file.exists():
            return  # a repeated SIGTERM does not shorten the drain (SIGINT or SIGQUIT stop at once)
        drain_file.touch()
        server.log.info("Draining for %ss before stopping (readiness now answers 503)", drain_seconds)
        timer = threading.Timer(drain_seconds, end_drain)
        timer.daemon = True
        timer.start()

    server.handle_term = handle_term


def on_exit(server: Any) -> None:
    drain_file = os.environ.get("GUNICORN_DRAIN_FILE")
    if drain_file:
        shutil.rmtree(Path(drain_file).parent, ignore_errors=True)
