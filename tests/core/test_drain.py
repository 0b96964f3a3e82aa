"""Drain on stop: a gunicorn instance behind HAProxy that gets SIGTERM leaves the balancer's rotation before it
stops accepting, so a rollout drops no request."""

import http.client
import os
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.helpers.fleet import gunicorn_env, migrate, start_gunicorn, system_program
from tests.helpers.processes import free_port, stop, wait_for_http

pytestmark = pytest.mark.slow

DRAIN_SECONDS = 3
CLIENTS = 8

HAPROXY_CONFIG = """
global
    maxconn 200
defaults
    mode http
    timeout connect 1s
    timeout client 10s
    timeout server 10s
    retries 3
    option redispatch
frontend app
    bind 127.0.0.1:{port}
    default_backend web
backend web
    option httpchk GET /health/ready/
    default-server check inter 250ms fall 1 rise 2
{servers}
"""


def get(port: int, path: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


def probe(port: int, path: str) -> str:
    try:
        return str(get(port, path))
    except OSError as exc:
        return type(exc).__name__


def start_haproxy(folder: Path, backends: list[int]) -> tuple[subprocess.Popen, int]:
    port = free_port()
    servers = "\n".join(f"    server web{i} 127.0.0.1:{backend}" for i, backend in enumerate(backends))
    config = folder / "haproxy.cfg"
    config.write_text(HAPROXY_CONFIG.format(port=port, servers=servers))
    process = subprocess.Popen(
        [system_program("haproxy"), "-db", "-f", str(config)],
        stdout=(folder / "haproxy.log").open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return process, port


def load(port: int, seconds: float) -> Counter[str]:
    """CLIENTS clients each sending one request after the other through the balancer for `seconds`."""
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client() -> None:
        while time.monotonic() < deadline:
            outcome = probe(port, "/health/live/")
            with lock:
                outcomes[outcome] += 1

    with ThreadPoolExecutor(CLIENTS) as pool:
        for _ in range(CLIENTS):
            pool.submit(client)
    return outcomes


def test_sigterm_drains_one_of_two_instances_without_a_failed_request(tmp_path) -> None:
    env = gunicorn_env(tmp_path, DRAIN_SECONDS=str(DRAIN_SECONDS), GUNICORN_GRACEFUL_TIMEOUT="5")
    migrate(env)
    leaving, leaving_port = start_gunicorn(env, tmp_path / "leaving.log")
    staying, staying_port = start_gunicorn(env, tmp_path / "staying.log")
    balancer = None
    try:
        for process, port in ((leaving, leaving_port), (staying, staying_port)):
            wait_for_http(f"http://127.0.0.1:{port}/health/ready/", process=process)
        balancer, balancer_port = start_haproxy(tmp_path, [leaving_port, staying_port])
        wait_for_http(f"http://127.0.0.1:{balancer_port}/health/live/", process=balancer)
        time.sleep(1)  # both servers seen up by the balancer's checks (rise 2, every 250 ms)

        with ThreadPoolExecutor(1) as background:
            outcomes = background.submit(load, balancer_port, DRAIN_SECONDS + 5)
            time.sleep(1.5)
            os.kill(leaving.pid, signal.SIGTERM)  # the master only, as docker stop and the kubelet do
            time.sleep(0.3)
            probes = {path: probe(leaving_port, path) for path in ("/health/ready/", "/health/live/")}
            outcomes_seen = outcomes.result(timeout=60)

        # Only answers 200, from enough requests that a reset during the stop would have shown.
        assert set(outcomes_seen) == {"200"}, outcomes_seen
        assert outcomes_seen["200"] > 500
        # While it drained it was out of rotation, and still served whatever the balancer had already sent.
        assert probes == {"/health/ready/": "503", "/health/live/": "200"}
        assert leaving.wait(timeout=DRAIN_SECONDS + 10) == 0
        assert staying.poll() is None
    finally:
        if balancer is not None:
            stop(balancer)
        for instance in (leaving, staying):
            stop(instance)


def drain_folders() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("gunicorn-drain-*"))


def test_a_drain_is_per_instance_and_its_folder_goes_with_it(tmp_path) -> None:
    env = gunicorn_env(tmp_path, DRAIN_SECONDS="30", GUNICORN_GRACEFUL_TIMEOUT="5")
    migrate(env)
    folders_before = drain_folders()
    first, first_port = start_gunicorn(env, tmp_path / "first.log")
    second, second_port = start_gunicorn(env, tmp_path / "second.log")
    try:
        for process, port in ((first, first_port), (second, second_port)):
            wait_for_http(f"http://127.0.0.1:{port}/health/ready/", process=process)
        ours = drain_folders() - folders_before
        assert len(ours) == 2
        os.kill(first.pid, signal.SIGTERM)
        time.sleep(0.5)
        # Every worker of the draining instance says so (each answer may come from either of its two workers)...
        assert {get(first_port, "/health/ready/") for _ in range(20)} == {503}
        # ... and no worker of the other instance on this host does.
        assert {get(second_port, "/health/ready/") for _ in range(20)} == {200}
        # SIGINT still stops at once, and the instance's drain folder is removed on exit.
        os.kill(first.pid, signal.SIGINT)
        assert first.wait(timeout=15) == 0
        assert len(drain_folders() & ours) == 1
    finally:
        for process in (first, second):
            stop(process)
