"""The deployment gate: the service as the Docker image runs it (gunicorn, `config.settings.production`, static files
collected) answers with the security headers a scanner expects, and no error page shows a traceback or a setting.

`tests/core/test_settings.py` holds the rest of the gate: every settings module loads, production refuses to load
without SECRET_KEY, ALLOWED_HOSTS, DATABASE_URL or CELERY_BROKER_URL, and `check --deploy --fail-level WARNING`
passes.
"""

import contextlib
import http.client
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http

pytestmark = pytest.mark.slow

SECRET_KEY = secrets.token_urlsafe(50)
HTTPS = {"X-Forwarded-Proto": "https"}  # what the TLS-terminating proxy in front of gunicorn sends
LEAKS = (
    "Traceback",
    'File "',
    "site-packages",
    str(BASE_DIR),
    SECRET_KEY,
    "DEBUG = True",
    "DJANGO_SETTINGS_MODULE",
    "INSTALLED_APPS",
    "OperationalError",
    "no such table",
    "Invalid HTTP_HOST",
)


def production_env(folder: Path, **overrides: str) -> dict[str, str]:
    settings = {
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": SECRET_KEY,
        "ALLOWED_HOSTS": "127.0.0.1",
        # TLS ends at the proxy; this test talks plain HTTP to gunicorn and says "https" in X-Forwarded-Proto.
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        # Required, though nothing here enqueues a task: the broker is never dialled.
        "CELERY_BROKER_URL": "amqp://guest:guest@127.0.0.1:9//",
        "STATIC_ROOT": str(folder / "static"),
        "LOG_DIR": str(folder / "logs"),
        "MEDIA_ROOT": str(folder / "media"),
        "MEDIA_SINGLE_HOST": "true",
        "GUNICORN_WORKERS": "1",
    }
    return project_env(**{**settings, **overrides})


def manage(*args: str, env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, f"manage.py {args[0]}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


def start_gunicorn(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=BASE_DIR,
            env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, port


@dataclass
class Answer:
    status: int
    headers: http.client.HTTPMessage
    text: str

    def json(self) -> dict:
        return json.loads(self.text)


@dataclass
class Server:
    port: int

    def fetch(
        self,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 15,
    ) -> Answer:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={**HTTPS, **(headers or {})})
            response = connection.getresponse()
            return Answer(response.status, response.headers, response.read().decode("utf-8", "replace"))
        finally:
            connection.close()


@contextmanager
def production_server(folder: Path, *, static_root: Path, migrate: bool = True) -> Iterator[Server]:
    """gunicorn on production settings with collected static files, as the Docker image runs it."""
    env = production_env(folder, STATIC_ROOT=str(static_root))
    if migrate:
        manage("migrate", "--noinput", env=env)
    log = folder / "gunicorn.log"
    process, port = start_gunicorn(env, log)
    try:
        try:
            wait_for_http(f"http://127.0.0.1:{port}/health/live/", timeout=60, process=process)
        except (TimeoutError, RuntimeError) as exc:
            raise AssertionError(f"{exc}\n{log.read_text(errors='replace')[-3000:]}") from exc
        yield Server(port)
    finally:
        stop(process)


@pytest.fixture(scope="module")
def static_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`collectstatic` as the Dockerfile runs it: the manifest storage hashes and compresses every asset."""
    folder = tmp_path_factory.mktemp("deploy-static")
    manage("collectstatic", "--noinput", env=production_env(folder, STATIC_ROOT=str(folder / "static")))
    return folder / "static"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, static_root: Path) -> Iterator[Server]:
    with production_server(tmp_path_factory.mktemp("deploy"), static_root=static_root) as running:
        yield running


@pytest.fixture(scope="module")
def unmigrated_server(tmp_path_factory: pytest.TempPathFactory, static_root: Path) -> Iterator[Server]:
    """A deployment that skipped `migrate`: every request that reaches the database fails with a real 500."""
    folder = tmp_path_factory.mktemp("deploy-unmigrated")
    with production_server(folder, static_root=static_root, migrate=False) as running:
        yield running


def assert_no_leak(answer: Answer) -> None:
    leaked = [marker for marker in LEAKS if marker in answer.text]
    assert leaked == [], answer.text[:2000]


# --- Security headers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/", 200),
        ("/api/docs/", 200),
        ("/api/docs/?script=", 200),
        ("/api/redoc/", 200),
        ("/api/schema/", 200),
        ("/admin/login/", 200),
        ("/api/v1/products/", 401),
        ("/health/live/", 200),
    ],
)
def test_every_response_carries_the_security_headers(server: Server, path: str, status: int) -> None:
    answer = server.fetch("GET", path, headers={"Accept": "text/html,application/json"})
    assert answer.status == status
    assert answer.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "same-origin"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Content-Security-Policy" in answer.headers
    policy = dict(directive.strip().split(" ", 1) for directive in answer.headers["Content-Security-Policy"].split(";"))
    assert policy["default-src"] == "'self'"
    # No inline or eval'd script anywhere, docs pages included (the browser test shows they still render).
    assert policy["script-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert policy["base-uri"] == "'self'"
    assert policy["form-action"] == "'self'"


def test_the_docs_and_the_admin_use_only_collected_same_origin_assets(server: Server) -> None:
    swagger = server.fetch("GET", "/api/docs/").text
    redoc = server.fetch("GET", "/api/redoc/").text
    admin = server.fetch("GET", "/admin/login/").text
    for page in (swagger, redoc, admin):
        assert "https://" not in page  # no CDN, no web fonts
        assert "<script>" not in page  # every script has a src: nothing inline for the CSP to allow
    # Hashed names from the manifest, served by WhiteNoise with a long cache lifetime.
    bundle = swagger.split('<script src="')[1].split('"')[0]
    assert bundle.startswith("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.")
    asset = server.fetch("GET", bundle)
    assert asset.status == 200
    assert "max-age=315360000" in asset.headers["Cache-Control"]
    stylesheet = admin.split('<link rel="stylesheet" href="')[1].split('"')[0]
    assert server.fetch("GET", stylesheet).status == 200


def test_the_csrf_cookie_is_sent_over_https_only_and_hidden_from_scripts(server: Server) -> None:
    answer = server.fetch("GET", "/admin/login/")
    cookies = answer.headers.get_all("Set-Cookie") or []
    csrf = next(cookie for cookie in cookies if cookie.startswith("csrftoken="))
    assert "Secure" in csrf
    assert "SameSite=Lax" in csrf
    assert "HttpOnly" in csrf


# --- Error pages ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status", "expected"),
    [
        ("GET", "/no-such-page/", None, {}, 404, {"detail": "Not found.", "code": "not_found"}),
        ("GET", "/api/v1/no-such-thing/", None, {}, 404, {"detail": "Not found.", "code": "not_found"}),
        ("GET", "/static/no-such-file.css", None, {}, 404, {"detail": "Not found.", "code": "not_found"}),
        ("GET", "/", None, {"Host": "evil.example.com"}, 400, {"detail": "Bad request.", "code": "bad_request"}),
        (
            "GET",
            "/api/v1/products/",
            None,
            {"Host": "evil.example.com"},
            400,
            {"detail": "Bad request.", "code": "bad_request"},
        ),
        (
            "DELETE",
            "/api/v1/auth/login/",
            None,
            {"Accept": "application/json"},
            405,
            {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"},
        ),
        ("OPTIONS", "/metrics", None, {}, 405, None),
        (
            "POST",
            "/admin/login/",
            b"username=a&password=b",
            {"Content-Type": "application/x-www-form-urlencoded"},
            403,
            None,
        ),
    ],
    ids=["404", "404-api", "404-static", "400-host", "400-host-api", "405-api", "405-plain", "403-csrf"],
)
def test_error_pages_show_no_internals(
    server: Server,
    method: str,
    path: str,
    body: bytes | None,
    headers: dict[str, str],
    status: int,
    expected: dict[str, str] | None,
) -> None:
    answer = server.fetch(method, path, body=body, headers=headers)
    assert answer.status == status, answer.text[:500]
    if expected is not None:
        assert answer.json() == expected
    assert_no_leak(answer)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_a_malformed_json_body_is_a_400_without_internals(server: Server) -> None:
    answer = server.fetch(
        "POST",
        "/api/v1/auth/login/",
        body=b'{"email": "someone@example.com", "password": ',
        headers={"Content-Type": "application/json", "Accept": "application/json"},
    )
    assert answer.status == 400
    assert list(answer.json()) == ["detail", "code"]
    assert answer.json()["detail"].startswith("JSON parse error")
    assert answer.json()["code"] == "parse_error"
    assert_no_leak(answer)


@pytest.mark.parametrize(
    ("method", "path", "body", "headers"),
    [
        (
            "POST",
            "/api/v1/auth/login/",
            json.dumps({"email": "someone@example.com", "password": "whatever-it-is-1"}).encode(),
            {"Content-Type": "application/json", "Accept": "application/json"},
        ),
        ("GET", "/admin/", None, {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
    ],
    ids=["500-api", "500-admin"],
)
def test_a_server_error_is_json_with_the_request_id_and_no_internals(
    unmigrated_server: Server, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    answer = unmigrated_server.fetch(method, path, body=body, headers={**headers, "X-Request-ID": "deploy-500-check"})
    assert answer.status == 500, answer.text[:500]
    assert answer.json() == {
        "detail": "Internal server error.",
        "code": "server_error",
        "request_id": "deploy-500-check",
    }
    assert_no_leak(answer)
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


# --- Start-up -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "CELERY_BROKER_URL"])
def test_gunicorn_refuses_to_start_without(missing: str, tmp_path: Path) -> None:
    """The server process itself exits (rather than serving with local defaults, or retrying forever)."""
    env = {key: value for key, value in production_env(tmp_path).items() if key != missing}
    log = tmp_path / "gunicorn.log"
    process, port = start_gunicorn(env, log)
    try:
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline:
            # gunicorn's master listens before its workers load the app: only an answer counts as serving.
            with contextlib.suppress(OSError, http.client.HTTPException):
                answer = Server(port).fetch("GET", "/health/live/", timeout=1)
                pytest.fail(f"gunicorn answers {answer.status} without {missing}")
            time.sleep(0.3)
    finally:
        stop(process)
    assert process.returncode not in (None, 0)
    assert missing in log.read_text(errors="replace")
