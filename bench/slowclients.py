"""Slow clients: while a few connections drip a request body one byte a second, does the server still answer?

Each dripping client sends a POST's headers with a Content-Length and then its body a byte a second, so whatever
reads that body is held for as long as the drip lasts. Meanwhile one probe at a time asks `probe_path` on a fresh
connection; the result is how many probes were answered in time and how long they took. A sync gunicorn worker
reads the body itself, so two drips hold both workers of the bench's instance; a server that reads bodies in its
own event loop (or a thread per connection) keeps answering. A buffering proxy in front (nginx, as compose and the
fleet set up) takes the drip itself and forwards whole requests, so behind it this is moot.
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
import urllib.error
import urllib.request
from typing import Any

BODY_LENGTH = 64


def _drip(host: str, port: int, path: str, headers: dict[str, str], stop: threading.Event) -> None:
    head = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    try:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}Content-Type: application/json\r\n"
                f"Content-Length: {BODY_LENGTH}\r\n\r\n".encode()
            )
            for _ in range(BODY_LENGTH - 1):  # never the last byte: the request stays incomplete until we stop
                if stop.wait(1.0):
                    return
                sock.sendall(b" ")
    except OSError:
        return


def probe_under_drip(
    port: int, *, drip_path: str, headers: dict[str, str], probe_path: str, seconds: float = 12.0, drippers: int = 2,
    probe_timeout: float = 2.0, host: str = "127.0.0.1",
) -> dict[str, Any]:  # fmt: skip
    stop = threading.Event()
    threads = [threading.Thread(target=_drip, args=(host, port, drip_path, headers, stop), daemon=True)
               for _ in range(drippers)]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the drips are in: their headers are parsed and their bodies are being read
    latencies: list[float] = []
    probes = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        probes += 1
        started = time.monotonic()
        try:
            with urllib.request.urlopen(f"http://{host}:{port}{probe_path}", timeout=probe_timeout) as answer:
                answer.read()
            latencies.append(1000 * (time.monotonic() - started))
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(max(0.0, 0.25 - (time.monotonic() - started)))
    stop.set()
    for thread in threads:
        thread.join(timeout=5)
    return {
        "drippers": drippers,
        "seconds": seconds,
        "probes": probes,
        "answered": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "max_ms": round(max(latencies), 1) if latencies else None,
    }
