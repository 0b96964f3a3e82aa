"""The service in its own process and Debian's Chromium driven by Playwright, for the browser gate.

The service runs as `make run` does (runserver, `config.settings.local`) but with DEBUG off, on a spare port with a
throwaway SQLite database; the browser is Debian's own Chromium (never a downloaded build) with the flags a closed
network needs, and every request it makes is recorded so a test can prove nothing left 127.0.0.1.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = BASE_DIR / "test-artifacts" / "browser"
ADMIN_EMAIL = "browser-admin@example.com"
USER_EMAIL = "browser-user@example.com"
PASSWORD = "a-browser-test-password-9f3k"
TIMEOUT_MS = 20_000
COMMAND_TIMEOUT = 120
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}

CREATE_PLAIN_USER = (
    "from django.contrib.auth import get_user_model\n"
    f"get_user_model().objects.create_user(email={USER_EMAIL!r}, password={PASSWORD!r}, full_name='Plain User')\n"
)


def require_chromium() -> None:
    """Skip on a machine without Debian's Chromium; fail in CI, where `.ci/run` installs it."""
    if CHROMIUM.exists():
        return
    missing = f"{CHROMIUM} is not installed (apt-get install chromium); no browser build is ever downloaded"
    if IN_CI:
        pytest.fail(missing, pytrace=False)
    pytest.skip(missing)


@dataclass
class Service:
    url: str
    process: subprocess.Popen
    log: Path

    @property
    def host(self) -> str:
        return urlsplit(self.url).netloc

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


def _manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
    )
    assert result.returncode == 0, f"manage.py {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


@contextmanager
def running_service(folder: Path) -> Iterator[Service]:
    """Migrate a fresh SQLite database, add an admin and a plain user, and serve it on a spare 127.0.0.1 port."""
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.local",
        DEBUG="false",
        DATABASE_URL=f"sqlite:///{folder / 'db.sqlite3'}",
        LOG_DIR=str(folder / "logs"),
        MEDIA_ROOT=str(folder / "media"),
        DJANGO_SUPERUSER_EMAIL=ADMIN_EMAIL,
        DJANGO_SUPERUSER_PASSWORD=PASSWORD,
        # The client scenarios send messages as the user they just registered, whose email link they cannot follow.
        MESSAGES_REQUIRE_VERIFIED_EMAIL="false",
    )
    env.pop("REDIS_URL", None)
    _manage("migrate", "--noinput", env=env)
    _manage("createsuperuser", "--noinput", env=env)
    _manage("shell", "-c", CREATE_PLAIN_USER, env=env)
    port = free_port()
    log = folder / "server.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
            cwd=BASE_DIR,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    service = Service(url=f"http://127.0.0.1:{port}", process=process, log=log)
    try:
        try:
            wait_for_http(f"{service.url}/health/live/", timeout=60, process=process)
        except (TimeoutError, RuntimeError) as exc:
            raise AssertionError(f"{exc}\n{service.output()}") from exc
        yield service
    finally:
        stop(process)


# Foreign URLs a page may name as long as the Content-Security-Policy stopped them: none since the service serves
# ReDoc's bundle with its badge image inline (apps.core.views.redoc_bundle).
REFUSED_BY_CSP: frozenset[str] = frozenset()


@dataclass
class PageWatch:
    """Every request the browser made, every failed subresource, and every Content-Security-Policy violation."""

    host: str
    requests: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    csp_violations: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        """Requests that went, or tried to go, anywhere but the service itself."""
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("data", "blob")
            and _netloc(url) != self.host
            and not (url in REFUSED_BY_CSP and self.failed.get(url) == "csp")
        ]

    def failed_subresources(self) -> dict[str, str]:
        return {url: reason for url, reason in self.failed.items() if url not in REFUSED_BY_CSP}

    def unexpected_csp_violations(self) -> list[str]:
        return [report for report in self.csp_violations if report.split(" ")[2] not in REFUSED_BY_CSP]

    def clear(self) -> None:
        self.requests.clear()
        self.failed.clear()
        self.csp_violations.clear()


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const blocked = event.blockedURI || "inline";
  window.reportCspViolation(`${event.effectiveDirective} blocked ${blocked} on ${location.pathname}`);
});
"""


def watch_context(context: Any, host: str) -> PageWatch:
    """Record what the pages of `context` request, and refuse (without sending) anything not bound for `host`."""
    watch = PageWatch(host=host)

    def route(route: Any) -> None:
        if _netloc(route.request.url) == host:
            route.continue_()
        else:
            route.abort("blockedbyclient")

    def response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            watch.failed[response.url] = f"HTTP {response.status}"

    def request_failed(request: Any) -> None:
        watch.failed[request.url] = request.failure or "failed"

    def csp_violation(report: str) -> None:
        watch.csp_violations.append(report)

    context.route("**/*", route)
    context.on("request", lambda request: watch.requests.append(request.url))
    context.on("requestfailed", request_failed)
    context.on("response", response)
    context.expose_function("reportCspViolation", csp_violation)
    context.add_init_script(CSP_LISTENER)
    return watch


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def sign_in_to_admin(page: Any, base_url: str, *, email: str, password: str) -> None:
    page.goto(f"{base_url}/admin/login/?next=/admin/")
    page.fill("#id_username", email)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_load_state()
