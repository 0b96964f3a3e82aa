"""A callback receiver the test starts on 127.0.0.1: answers each POST with the next planned status (then 200),
and keeps every request it got. Stops with the `with` block."""

import threading
from collections.abc import Iterator
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
    requests: list[Received] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/status"


@contextmanager
def receiver(plan: list[int] | None = None, redirect_to: str = "", port: int = 0) -> Iterator[Receiver]:
    """A receiver on `port` (0: a free one)."""
    state = Receiver(plan=list(plan or []), redirect_to=redirect_to)
    lock = threading.Lock()

    class Handler(QuietHandler):
        def do_POST(self) -> None:
            body = self.read_body()
            with lock:
                state.requests.append(Received(self.path, dict(self.headers.items()), body))
                code = state.plan.pop(0) if state.plan else 200
            if state.redirect_to:
                self.send_response(302)
                self.send_header("Location", state.redirect_to)
            else:
                self.send_response(code)
            self.send_header("Content-Length", "0")
            self.end_headers()

    with serving(Handler, port) as state.port:
        yield state
