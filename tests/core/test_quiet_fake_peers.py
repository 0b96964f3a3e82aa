"""The fake peers the tests and the bench start print no traceback when a client hangs up before its answer (a
sender's timeout does that on purpose), so a real error in their output is not lost among them."""

import json
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request
from http import HTTPStatus

from tests.helpers.http_server import QuietHandler, serving
from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http

ANSWER_DELAY = 0.2


def hang_up_before_the_answer(port: int) -> None:
    """Send a POST and close with a reset (SO_LINGER 0), so the server's answer meets a closed connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        client.sendall(b"POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n\r\n{}")
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def test_the_test_servers_are_quiet_when_a_client_hangs_up(capsys) -> None:
    answered: list[bool] = []
    handlers: list[threading.Thread] = []
    started = threading.Event()

    class SlowHandler(QuietHandler):
        def do_POST(self) -> None:
            self.read_body()
            handlers.append(threading.current_thread())
            started.set()
            time.sleep(ANSWER_DELAY)
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Length", "0")
            self.end_headers()
            answered.append(True)

    with serving(SlowHandler) as port:
        hang_up_before_the_answer(port)
        assert started.wait(timeout=5)
        handlers[0].join(timeout=5)  # its error, if any, is reported on this thread before it ends

    assert answered == []  # the answer did meet a closed connection
    assert capsys.readouterr().err == ""


def test_the_bench_gateway_is_quiet_when_a_client_hangs_up() -> None:
    port = free_port()
    gateway = subprocess.Popen(
        [sys.executable, "-m", "bench.gateway", str(port), str(ANSWER_DELAY * 1000)],
        cwd=BASE_DIR,
        env=project_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/stats", timeout=30, process=gateway)
        hang_up_before_the_answer(port)
        time.sleep(ANSWER_DELAY * 3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/stats", timeout=5) as response:
            assert json.load(response)["posts"] == 1
    finally:
        stop(gateway)
    assert gateway.stderr is not None
    assert gateway.stderr.read().decode() == ""
