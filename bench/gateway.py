"""A fake SMS gateway for the bench: `python -m bench.gateway PORT DELAY_MS` answers every POST after DELAY_MS
with `{"id": ...}`, like a real gateway's latency, and `GET /stats` with the posts it took and the distinct
`Idempotency-Key`s among them (equal when every message was sent once). Listens on 127.0.0.1 only."""

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Gateway(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, port: int, delay: float) -> None:
        super().__init__(("127.0.0.1", port), GatewayHandler)
        self.delay = delay
        self.lock = threading.Lock()
        self.posts = 0
        self.keys: set[str] = set()

    def handle_error(self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any) -> None:
        # A client that gave up (its timeout) before the delayed answer is the bench's normal case, not an error.
        if isinstance(sys.exception(), ConnectionError):
            return
        super().handle_error(request, client_address)


class GatewayHandler(BaseHTTPRequestHandler):
    server: Gateway
    protocol_version = "HTTP/1.1"
    # The answer goes out as two writes (headers, body): with Nagle's algorithm the body waited for the client's
    # delayed ACK, and every answer came about 40 ms after DELAY_MS.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Idempotency-Key", "")
        time.sleep(self.server.delay)
        with self.server.lock:
            self.server.posts += 1
            self.server.keys.add(key)
        self._answer({"id": f"fake-{key}"})

    def do_GET(self) -> None:
        with self.server.lock:
            self._answer({"posts": self.server.posts, "distinct_keys": len(self.server.keys)})

    def _answer(self, body: dict[str, object]) -> None:
        raw = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    Gateway(port, delay_ms / 1000).serve_forever()


if __name__ == "__main__":
    main()
