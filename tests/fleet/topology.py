"""The fleet on one machine: PgBouncer, three gunicorn instances behind HAProxy, two Celery workers, two beats and
the bench's fake SMS gateway, started from Debian's packages and the project's own commands, stopped by pid.

Every address is on 127.0.0.0/8: HAProxy listens on 127.0.0.10 and connects from it, the instances listen on
127.0.0.11-13, and a client that must be told apart from the others binds a source address of its own
(127.0.0.20 and up), so the instances see one client address per check.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote, urlparse

import psycopg
import urllib3

from tests.helpers.processes import BASE_DIR, CLEAN_ENV_KEYS

PROXY_HOST = "127.0.0.10"
INSTANCE_HOSTS = ("127.0.0.11", "127.0.0.12", "127.0.0.13")
WORKER_NAMES = ("w1", "w2")
PASSWORD = "fleet-password-9f3k"
HTTP_TIMEOUT = urllib3.Timeout(connect=3, read=30)
START_TIMEOUT = 90.0
# Debian installs both daemons in /usr/sbin, which a non-root PATH may leave out.
SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def binary(name: str) -> str | None:
    return shutil.which(name, path=SBIN_PATH)


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Http:
    """Real HTTP clients: one urllib3 pool per source address, shared by the threads of a check."""

    def __init__(self) -> None:
        self._pools: dict[str, urllib3.PoolManager] = {}
        self._lock = threading.Lock()

    def _pool(self, source: str) -> urllib3.PoolManager:
        with self._lock:
            if source not in self._pools:
                self._pools[source] = urllib3.PoolManager(
                    num_pools=8, maxsize=32, retries=False, timeout=HTTP_TIMEOUT, source_address=(source, 0)
                )
            return self._pools[source]

    def request(
        self,
        method: str,
        url: str,
        *,
        json_body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
        source: str = "127.0.0.1",
    ) -> Answer:
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent["Content-Type"] = "application/json"
        response = self._pool(source).request(method, url, body=body, headers=sent)
        raw = response.data
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Answer(response.status, {key.lower(): value for key, value in response.headers.items()}, parsed)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.clear()


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None
    _log_file: IO[bytes] | None = None

    def start(self) -> Process:
        self._log_file = self.log.open("ab")
        self.popen = subprocess.Popen(
            self.argv,
            cwd=BASE_DIR,
            env=self.env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def signal_group(self, signum: int) -> None:
        """Send `signum` to the process and every child it started (its own session), by the group's id."""
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signum)

    def wait(self, timeout: float) -> int | None:
        assert self.popen is not None
        try:
            return self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15) -> None:
        if self.popen is None:
            return
        if self.alive():
            self.signal_group(signal.SIGTERM)
            if self.wait(timeout) is None:
                self.signal_group(signal.SIGKILL)
                self.wait(timeout)
        # Children left in the group (a SIGKILLed gunicorn master's workers) go too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


@dataclass
class Fleet:
    database_server: str  # postgres://user:password@host:port (no database name)
    redis_url: str
    broker_url: str
    database: str = "drm_fleet"
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="drm-fleet-")))
    run_id: str = field(default_factory=lambda: secrets.token_hex(4))
    processes: dict[str, Process] = field(default_factory=dict)
    http: Http = field(default_factory=Http)
    ports: dict[str, int] = field(default_factory=dict)
    receipt_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    migrations: list[tuple[int | None, str]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)  # every message id the checks created

    # ---- addresses -------------------------------------------------------------------------------------------

    @property
    def proxy_url(self) -> str:
        return f"http://{PROXY_HOST}:{self.ports['haproxy']}"

    def instance_url(self, index: int) -> str:
        return f"http://{INSTANCE_HOSTS[index]}:{self.ports[f'web{index}']}"

    @property
    def instance_urls(self) -> list[str]:
        return [self.instance_url(index) for index in range(len(INSTANCE_HOSTS))]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def worker_metrics_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[f'metrics-{name}']}/metrics"

    # ---- environment ------------------------------------------------------------------------------------------

    def database_url(self, port: int | None = None) -> str:
        server = urlparse(self.database_server)
        return f"{server.scheme}://{server.netloc.rsplit('@', 1)[0]}@127.0.0.1:{port}/{self.database}"

    def env(self, **overrides: str) -> dict[str, str]:
        base = {key: value for key, value in os.environ.items() if key not in CLEAN_ENV_KEYS}
        base = {key: value for key, value in base.items() if not key.startswith(("CELERY_", "DJANGO_", "PYTEST_"))}
        direct = urlparse(self.database_server)
        base.update(
            {
                "DJANGO_SETTINGS_MODULE": "config.settings.production",
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": ",".join([PROXY_HOST, *INSTANCE_HOSTS, "127.0.0.1", "localhost"]),
                "SECURE_SSL_REDIRECT": "false",
                "DATABASE_URL": self.database_url(self.ports["pgbouncer"]),
                "DATABASE_DIRECT_URL": self.database_url(direct.port or 5432),
                "REDIS_URL": self.redis_url,
                "CACHE_KEY_PREFIX": f"fleet-{self.run_id}",
                "CELERY_BROKER_URL": self.broker_url,
                "CELERY_QUEUE_PREFIX": self.queue_prefix,
                "TRUSTED_PROXIES": f"{PROXY_HOST}/32",
                "THROTTLE_RATE_ANON": "1000000/min",
                "THROTTLE_RATE_USER": "600/min",
                "THROTTLE_RATE_LOGIN": "10/min",
                "JWT_ACCESS_MINUTES": "60",
                "SMS_BACKEND": "apps.messages.backends.http.HttpGatewayBackend",
                "SMS_GATEWAY_URL": f"{self.gateway_url}/messages",
                "SMS_GATEWAY_RECEIPT_SECRET": self.receipt_secret,
                "CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
                # The instances share this one machine's disk (one MEDIA_ROOT): the one case the setting allows.
                "MEDIA_SINGLE_HOST": "true",
                # The test's users send at once, without following an email link.
                "MESSAGES_REQUIRE_VERIFIED_EMAIL": "false",
                "MESSAGES_ALLOW_ANY_SENDER": "true",  # from numbers they do not own
                "DRAIN_SECONDS": "3",
                "GUNICORN_GRACEFUL_TIMEOUT": "10",
                "GUNICORN_WORKERS": "2",
                "LOG_LEVEL": "WARNING",
                "PYTHONDONTWRITEBYTECODE": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        base.update(overrides)
        return base

    @property
    def queue_prefix(self) -> str:
        return f"fleet-{self.run_id}-"

    @property
    def secret_key(self) -> str:
        if not hasattr(self, "_secret_key"):
            self._secret_key = secrets.token_urlsafe(50)
        return self._secret_key

    # ---- start and stop ---------------------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        process = Process(name, argv, env, self.workdir / f"{name}.log").start()
        self.processes[name] = process
        return process

    def stop_all(self) -> None:
        # Clients of the database and the broker first, PgBouncer last.
        order = [name for name in self.processes if name != "pgbouncer"] + ["pgbouncer"]
        for name in order:
            if name in self.processes:
                self.processes[name].stop()
        self.http.close()

    def drop_database(self) -> None:
        with contextlib.suppress(psycopg.Error), self._admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def create_database(self) -> None:
        with self._admin_connection() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.database}"')

    def _admin_connection(self) -> psycopg.Connection[Any]:
        return psycopg.connect(f"{self.database_server}/postgres", autocommit=True, connect_timeout=5)

    def start_pgbouncer(self) -> None:
        executable = binary("pgbouncer")
        assert executable, "pgbouncer is not installed (apt-get install pgbouncer)"
        self.ports["pgbouncer"] = free_port()
        server = urlparse(self.database_server)
        password = f" password={server.password}" if server.password else ""
        folder = self.workdir / "pgbouncer"
        folder.mkdir(mode=0o755)
        ini = folder / "pgbouncer.ini"
        ini.write_text(
            "[databases]\n"
            f"{self.database} = host={server.hostname or '127.0.0.1'} port={server.port or 5432} "
            f"dbname={self.database} user={server.username or 'postgres'}{password}\n"
            "[pgbouncer]\n"
            "listen_addr = 127.0.0.1\n"
            f"listen_port = {self.ports['pgbouncer']}\n"
            "unix_socket_dir =\n"
            # `any`: the connection string above names the server's user, so no userlist is needed.
            "auth_type = any\n"
            "pool_mode = transaction\n"
            "max_client_conn = 1000\n"
            "default_pool_size = 20\n"
            "ignore_startup_parameters = extra_float_digits,options\n"
        )
        ini.chmod(0o644)
        self.workdir.chmod(0o755)
        # PgBouncer refuses to run as root; `-u` drops to an unprivileged user once it has read its files.
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self.start("pgbouncer", [executable, *user, str(ini)], dict(os.environ))
        wait_for_port("127.0.0.1", self.ports["pgbouncer"], self.processes["pgbouncer"])

    def start_gateway(self) -> None:
        self.ports["gateway"] = free_port()
        self.start(
            "gateway", [sys.executable, "-m", "bench.gateway", str(self.ports["gateway"]), "20"], dict(os.environ)
        )
        wait_for_http(self.http, f"{self.gateway_url}/stats", self.processes["gateway"])

    def manage(self, *args: str, timeout: float = 180, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=BASE_DIR,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate_three_at_once(self) -> None:
        """Three `migrate_with_lock` at once, as three instances starting together would run them."""
        logs = [self.workdir / f"migrate-{n}.log" for n in range(3)]
        runs = []
        for log in logs:
            with log.open("wb") as out:
                runs.append(
                    subprocess.Popen(
                        [sys.executable, "manage.py", "migrate_with_lock"],
                        cwd=BASE_DIR,
                        env=self.env(),
                        stdout=out,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for run, log in zip(runs, logs, strict=True):
            try:
                code: int | None = run.wait(timeout=240)
            except subprocess.TimeoutExpired:
                os.killpg(run.pid, signal.SIGKILL)
                run.wait(timeout=10)
                code = None
            self.migrations.append((code, log.read_text(errors="replace")[-1500:]))

    def ensure_schema(self) -> None:
        """The schema the rest of the fleet needs, whatever became of `migrate_with_lock` (checked on its own)."""
        result = self.manage("migrate", "--noinput", DATABASE_URL=self.env()["DATABASE_DIRECT_URL"])
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]

    def start_instance(self, index: int) -> Process:
        host = INSTANCE_HOSTS[index]
        self.ports.setdefault(f"web{index}", free_port(host))
        name = f"web{index}"
        prometheus = self.workdir / f"prometheus-{name}"
        env = self.env(GUNICORN_BIND=f"{host}:{self.ports[name]}", PROMETHEUS_MULTIPROC_DIR=str(prometheus))
        gunicorn = [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
        return self.start(name, gunicorn, env)

    def wait_instance(self, index: int, timeout: float = START_TIMEOUT) -> None:
        wait_for_http(self.http, f"{self.instance_url(index)}/health/ready/", self.processes[f"web{index}"], timeout)

    def start_worker(self, name: str) -> Process:
        self.ports.setdefault(f"metrics-{name}", free_port())
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker", "-n", f"{name}@%h", "-c", "2",
                "--loglevel=INFO", "--without-gossip", "--without-mingle"]  # fmt: skip
        return self.start(f"worker-{name}", argv, self.env(WORKER_METRICS_PORT=str(self.ports[f"metrics-{name}"])))

    def wait_worker(self, name: str, timeout: float = START_TIMEOUT) -> None:
        process = self.processes[f"worker-{name}"]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not process.alive():
                raise RuntimeError(f"worker {name} exited: {process.tail()}")
            if " ready." in process.tail(20000):
                return
            time.sleep(0.3)
        raise TimeoutError(f"worker {name} not ready within {timeout}s: {process.tail()}")

    def start_beat(self, name: str) -> Process:
        argv = [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=INFO",
                "-s", str(self.workdir / f"{name}-schedule")]  # fmt: skip
        return self.start(name, argv, self.env(LOG_LEVEL="INFO"))

    def start_haproxy(self) -> None:
        executable = binary("haproxy")
        assert executable, "haproxy is not installed (apt-get install haproxy)"
        self.ports["haproxy"] = free_port(PROXY_HOST)
        servers = "".join(
            f"    server web{index} {host}:{self.ports[f'web{index}']} check\n"
            for index, host in enumerate(INSTANCE_HOSTS)
        )
        config = self.workdir / "haproxy.cfg"
        config.write_text(
            "global\n"
            "    maxconn 2000\n"
            "defaults\n"
            "    mode http\n"
            "    timeout connect 2s\n"
            "    timeout client 30s\n"
            "    timeout server 30s\n"
            "    timeout http-request 10s\n"
            # Whole requests (up to a buffer, 16 kB) reach the instances: a client dripping its body is held here
            # until `timeout http-request`, not by a sync worker reading it.
            "    option http-buffer-request\n"
            "    option forwardfor\n"
            # A connection refused or reset before any answer goes to another instance (a dead one's requests).
            "    retries 2\n"
            "    option redispatch 1\n"
            "    retry-on conn-failure empty-response\n"
            "frontend public\n"
            f"    bind {PROXY_HOST}:{self.ports['haproxy']}\n"
            "    default_backend web\n"
            "backend web\n"
            "    balance roundrobin\n"
            # The instances see the proxy at this one address, the only one TRUSTED_PROXIES names.
            f"    source {PROXY_HOST}\n"
            "    option httpchk\n"
            f"    http-check send meth GET uri /health/ready/ ver HTTP/1.1 hdr Host {PROXY_HOST}\n"
            "    http-check expect status 200\n"
            # Two failed checks a second apart take an instance out: one slow answer on a busy machine does not.
            "    timeout check 2s\n"
            "    default-server inter 1s fall 2 rise 2\n" + servers
        )
        self.start("haproxy", [executable, "-db", "-f", str(config)], dict(os.environ))
        wait_for_port(PROXY_HOST, self.ports["haproxy"], self.processes["haproxy"])

    # ---- API helpers ------------------------------------------------------------------------------------------

    def url(self, path: str, instance: int | None = None) -> str:
        return (self.proxy_url if instance is None else self.instance_url(instance)) + path

    def new_user(self, label: str) -> tuple[str, str]:
        """A user signed up and signed in through the proxy: (email, access token)."""
        email = f"{label}-{self.run_id}-{secrets.token_hex(3)}@example.com"
        answer = self.http.request(
            "POST",
            self.url("/api/v1/auth/register/"),
            json_body={"email": email, "password": PASSWORD, "full_name": label},
        )
        assert answer.status == 201, (answer.status, answer.body)
        return email, self.sign_in(email)

    def sign_in(self, email: str, password: str = PASSWORD) -> str:
        answer = self.http.request(
            "POST", self.url("/api/v1/auth/login/"), json_body={"email": email, "password": password}
        )
        assert answer.status == 200, (answer.status, answer.body)
        token: str = answer.body["access"]
        return token

    def create_message(
        self, token: str, *, instance: int | None = None, key: str | None = None, **extra: Any
    ) -> Answer:
        body = {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "fleet", **extra}
        headers = {"Idempotency-Key": key} if key else None
        answer = self.http.request(
            "POST", self.url("/api/v1/messages/", instance), json_body=body, token=token, headers=headers
        )
        if answer.status == 201 and answer.body["message_id"] not in self.messages:  # a key's repeat: the same id
            self.messages.append(answer.body["message_id"])
        return answer

    def message_statuses(self, token: str, ids: list[str]) -> dict[str, str]:
        """The status of each of `ids` (the caller's or, for an admin, anyone's), 100 ids per search."""
        statuses: dict[str, str] = {}
        for start in range(0, len(ids), 100):
            chunk = ",".join(ids[start : start + 100])
            url = self.url(f"/api/v1/messages/search/?page_size=100&message_id={quote(chunk)}")
            while url:
                answer = self.http.request("GET", url, token=token)
                assert answer.status == 200, (answer.status, answer.body)
                statuses.update({row["message_id"]: row["status"] for row in answer.body["results"]})
                url = answer.body.get("next")
                if url:
                    url = self.proxy_url + urlparse(url).path + "?" + urlparse(url).query
        return statuses

    def wait_sent(self, token: str, ids: list[str], timeout: float) -> tuple[float, dict[str, str]]:
        """Seconds until every one of `ids` left `queued` (or the timeout), and their last statuses."""
        started = time.monotonic()
        statuses: dict[str, str] = {}
        while time.monotonic() - started < timeout:
            statuses = self.message_statuses(token, ids)
            if len(statuses) == len(set(ids)) and all(status != "queued" for status in statuses.values()):
                break
            time.sleep(0.25)
        return time.monotonic() - started, statuses

    def gateway_stats(self) -> dict[str, int]:
        answer = self.http.request("GET", f"{self.gateway_url}/stats")
        stats: dict[str, int] = answer.body
        return stats


def wait_for_port(host: str, port: int, process: Process, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited: {process.tail()}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise TimeoutError(f"{process.name} does not listen on {host}:{port}: {process.tail()}")


def wait_for_http(http: Http, url: str, process: Process, timeout: float = START_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited before {url} answered: {process.tail()}")
        try:
            answer = http.request("GET", url)
            if answer.status == 200:
                return
            last = (answer.status, answer.body)
        except urllib3.exceptions.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s ({last}): {process.tail()}")


# The figures each check measured, in order: printed at the end of the run by tests/fleet/conftest.py, even
# without -s, so CI's log shows them.
FIGURES: list[tuple[str, str]] = []
