"""gunicorn settings, from the environment: `gunicorn -c config/gunicorn.py config.wsgi`."""

import gc
import os
import shutil
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
graceful_timeout = 20
keepalive = int(_env("GUNICORN_KEEPALIVE", "5"))
max_requests = int(_env("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = _env("GUNICORN_ACCESS_LOG", "") or None
errorlog = "-"
forwarded_allow_ips = _env("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = False


def on_starting(server: Any) -> None:
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
