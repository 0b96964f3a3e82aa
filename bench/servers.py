"""The bench's processes: environments for the service and the baseline project, start/stop by pid, waits."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
# A sitecustomize there refuses these packages (it keeps its own copy of the names: it cannot import the bench).
TRACING_ABSENT_DIR = BASE_DIR / "bench" / "tracing_absent"
TRACING_PACKAGES = ("opentelemetry", "sentry_sdk")
SECRET_KEY = secrets.token_urlsafe(50)  # one per bench run: production settings refuse a key written in the repository


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if not found and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from Debian's packages")
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, check=False)  # noqa: S607
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)  # noqa: S607
            subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, check=False)  # noqa: S607
        found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return found


def redis_url() -> str:
    return os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7")


def broker_url() -> str:
    return os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//")


def database_url(database: str) -> str:
    return f"postgres://postgres@127.0.0.1:5432/{database}"


def _clean_environ() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}


def service_env(database: str, workdir: Path, port: int) -> dict[str, str]:
    env = _clean_environ()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": database_url(database),
            "CONN_MAX_AGE": "600",
            "MEDIA_SINGLE_HOST": "true",  # one host; production refuses local media otherwise
            "MESSAGES_ALLOW_ANY_SENDER": "true",  # the bench users send from numbers they do not own
            "REDIS_URL": redis_url(),
            "CELERY_BROKER_URL": broker_url(),
            "CACHE_KEY_PREFIX": f"bench-{database}",
            "THROTTLE_RATE_ANON": "100000000/min",
            "THROTTLE_RATE_USER": "100000000/min",
            # An hour's window, spent again before each round: the throttled-login case measures refusals. At a
            # minute's window each round began in a new one, whose first wrong passwords are checked (Argon2,
            # CPU-bound) while every other connection waits behind them; an hour's edge falls in a case rarely.
            "THROTTLE_RATE_LOGIN": "5/hour",
            "JWT_ACCESS_MINUTES": "240",
            "SMS_BACKEND": "apps.messages.backends.locmem.LocmemBackend",
            "LOG_DIR": str(workdir / "logs"),
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def tracing_absent_env(env: dict[str, str], workdir: Path, port: int) -> dict[str, str]:
    """`env` (the service's) for a second instance on `port` in which the tracing and error-reporting packages
    cannot be imported (bench/tracing_absent/sitecustomize.py): beside it, the service shows what both cost off."""
    return {
        **env,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TRACING_ABSENT_DIR), env.get("PYTHONPATH", "")])),
        "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus-tracing-absent"),
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }


def importable(env: dict[str, str], module: str) -> bool:
    """Whether `module` imports in a Python started with `env`."""
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-c", f"import {module}"], cwd=BASE_DIR, env=env, capture_output=True, timeout=60, check=False
    )
    return result.returncode == 0


def baseline_env(database: str, port: int) -> dict[str, str]:
    """The bare project of bench/baseline: the same database, Redis and gunicorn settings, none of the service's."""
    env = _clean_environ()
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.baseline.settings",
            "SECRET_KEY": SECRET_KEY,
            "DATABASE_URL": database_url(database),
            "REDIS_URL": redis_url(),
            "CACHE_KEY_PREFIX": f"bench-{database}",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def team_env(database: str, port: int) -> dict[str, str]:
    """The typical DRF team's project of bench/team: the same database, Redis, broker and gunicorn settings."""
    return {**baseline_env(database, port), "DJANGO_SETTINGS_MODULE": "bench.team.settings",
            "CELERY_BROKER_URL": broker_url()}  # fmt: skip


# The servers the bench can run a project under. sync and gthread are config/gunicorn.py's two worker classes
# (GUNICORN_THREADS picks); granian serves the same WSGI application from its Rust event loop, without
# config/gunicorn.py (no drain, no gc.freeze, no clean multiprocess folder: the bench makes that folder itself).
SERVER_KINDS = ("sync", "gthread", "granian")
GTHREAD_THREADS = 4
GRANIAN_BLOCKING_THREADS = 4


def server_command(kind: str, module: str, port: int, env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The command and environment that serve the WSGI `module` on `port` under `kind`."""
    workers = env.get("GUNICORN_WORKERS", "2")
    if kind == "granian":
        if env.get("PROMETHEUS_MULTIPROC_DIR"):
            Path(env["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)
        command = [PYTHON, "-m", "granian", "--interface", "wsgi", "--host", "127.0.0.1", "--port", str(port),
                   "--workers", workers, "--blocking-threads", str(GRANIAN_BLOCKING_THREADS), "--no-ws",
                   "--log-level", "warning", f"{module}:application"]  # fmt: skip
        return command, env
    threads = "1" if kind == "sync" else str(GTHREAD_THREADS)
    command = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", module]
    return command, {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_THREADS": threads}


def manage(env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def run_module(env: dict[str, str], module: str, *args: str, timeout: float = 600) -> Any:
    """Run `python -m module args` (a bench module that sets Django up itself); it prints one JSON line last."""
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-m", module, *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"{module} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def message_statuses(database: str, message_ids: list[str]) -> dict[str, str]:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        rows = conn.execute(
            "SELECT message_id, status FROM messaging_message WHERE message_id = ANY(%s)", [message_ids]
        ).fetchall()
    return dict(rows)


def queued_messages(database: str) -> int:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        row = conn.execute("SELECT count(*) FROM messaging_message WHERE status = 'queued'").fetchone()
    return int(row[0]) if row else 0


def ensure_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def start(args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen[bytes]:
    handle: IO[str] = logfile.open("w")
    return subprocess.Popen(  # noqa: S603
        args, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    """End a process the bench started, and its group, by its id."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_http(url: str, timeout: float = 60, headers: dict[str, str] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(urllib.request.Request(url, headers=headers or {}), timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except Exception:  # noqa: BLE001 - any failure to answer means not up yet
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout}s")


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 - our own server on 127.0.0.1
        return json.loads(response.read())
