"""A callback receiver the test starts on 127.0.0.1: answers each POST with the next planned status (then 200),
and keeps every request it got. Stops with the `with` block."""

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from .http_server import QuietHandler, serving


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int = 0
    plan: list[int] = field(default_factory=list)  # status codes of the next answers, in order
    redirect_to: str = ""  # answer every request with a 302 here
    drip_headers: float = 0.0  # > 0: answer `200 OK`, then one header line every this many seconds, up to a minute
    on_request: Callable[[Received], None] | None = None  # runs in the server's thread before the answer
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/status"


@contextmanager
def receiver(
    plan: list[int] | None = None,
    redirect_to: str = "",
    port: int = 0,
    drip_headers: float = 0.0,
    on_request: Callable[[Received], None] | None = None,
) -> Iterator[Receiver]:
    """A receiver on `port` (0: a free one)."""
    state = Receiver(plan=list(plan or []), redirect_to=redirect_to, drip_headers=drip_headers, on_request=on_request)
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.read_body()
            received = Received(self.path, dict(self.headers.items()), body)
            with lock:
                state.requests.append(received)
                code = state.plan.pop(0) if state.plan else 200
            if state.on_request is not None:
                state.on_request(received)
            if state.drip_headers:
                self.drip()
                return
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
            else:
                self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def drip(self) -> None:
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                for line in range(int(60 / state.drip_headers)):
                    self.wfile.flush()
                    time.sleep(state.drip_headers)
                    self.wfile.write(f"X-Drip-{line}: .\r\n".encode())
            except OSError:
                pass  # the sender hung up: what the test waits for
            self.close_connection = True

    with serving(Handler, port) as state.port:
        yield state
