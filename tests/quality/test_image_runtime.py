"""The image runs under the manifests' security context, shown without Docker: the project's tracked files are
copied to a tree owned by root that nobody else may write (as the Dockerfile leaves /app), prepared as root the
way the image's build is (collectstatic), and gunicorn and a Celery worker then run from it as an unprivileged
user, with production settings and only a temporary folder writable (the pod's emptyDir on /tmp). The service
answers ready, accepts a message that the worker delivers to a gateway, and leaves the tree as it found it. The
image also starts without its database (the migration job runs first): live answers 200, ready 503."""

import os
import pwd
import secrets
import shutil
import site
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg
import pytest
import requests
import yaml
from psycopg import sql

from bench.gateway import Gateway
from tests.conftest import delete_broker_names
from tests.helpers.processes import BASE_DIR, closed_port, free_port, project_env, stop, wait_for_http

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.broker,
    pytest.mark.worker,
]

UNPRIVILEGED_USER = "nobody"  # on every Debian system; the image's own user exists only in the image
EMAIL, PASSWORD = "image-runtime@example.com", "an-image-runtime-passphrase-7"
DELIVERY_TIMEOUT_SECONDS = 60
DENIED = ("PermissionError", "Permission denied", "Read-only file system")


@dataclass
class Image:
    """The read-only copy of the project, the folder its processes may write, and who runs them."""

    app: Path
    writable: Path
    python: list[str]
    uid: int
    gid: int
    database_url: str
    queue_prefix: str = field(default_factory=lambda: f"image-{secrets.token_hex(4)}-")

    def env(self, **overrides: str) -> dict[str, str]:
        settings = {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "127.0.0.1",
            # TLS ends at the proxy in front; this test talks plain HTTP to gunicorn.
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": self.database_url,
            "REDIS_URL": os.environ["REDIS_URL"],
            "CELERY_BROKER_URL": os.environ["CELERY_BROKER_URL"],
            "CELERY_QUEUE_PREFIX": self.queue_prefix,
            "MEDIA_SINGLE_HOST": "true",
            # Its user sends from a number it does not own (production settings allow only owned senders).
            "MESSAGES_ALLOW_ANY_SENDER": "true",
            "PROMETHEUS_MULTIPROC_DIR": str(self.writable / "prometheus"),
            "TMPDIR": str(self.writable),
            "HOME": str(self.app),  # the image's user has /app as its home: read-only too
            "PYTHONDONTWRITEBYTECODE": "1",
            "GUNICORN_WORKERS": "2",
            "WORKER_METRICS_PORT": str(free_port()),
            "WORKER_METRICS_ADDRESS": "127.0.0.1",
        }
        return project_env(**{**settings, **overrides})

    def run_as_root(self, *args: str, env: dict[str, str]) -> str:
        # No metrics folder, as in the Dockerfile's build: root's files there would be in the user's way.
        env = {**env, "PROMETHEUS_MULTIPROC_DIR": ""}
        result = subprocess.run(
            [sys.executable, *args], cwd=self.app, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def start(self, command: list[str], *, env: dict[str, str], log: Path) -> subprocess.Popen:
        """`command` (the image's or compose's, its first word run as a module) as the unprivileged user."""
        with log.open("wb") as output:
            return subprocess.Popen(
                [*self.python, "-m", *command],
                cwd=self.app,
                env=env,
                user=self.uid,
                group=self.gid,
                extra_groups=[],
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )


def runs_as(python: list[str], uid: int, gid: int) -> bool:
    probe = [*python, "-c", "import django, gunicorn, celery, psycopg, redis.asyncio"]
    try:
        result = subprocess.run(probe, user=uid, group=gid, extra_groups=[], capture_output=True, timeout=60)
    except PermissionError:  # the interpreter itself is out of the user's reach
        return False
    return result.returncode == 0


def unprivileged_python(folder: Path, uid: int, gid: int) -> list[str]:
    """How the user runs this virtualenv's Python: as it is when it can; else through hard links to the same
    interpreter in `folder`, reading this virtualenv's packages (pyenv installs under /root, out of its reach)."""
    if runs_as([sys.executable], uid, gid):
        return [sys.executable]
    linked = folder / "python"
    shutil.copytree(
        sys.base_prefix, linked, symlinks=True, copy_function=os.link, ignore=shutil.ignore_patterns("site-packages")
    )
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    packages = linked / "lib" / version / "site-packages"
    packages.mkdir()
    (packages / "project.pth").write_text(f"import site; site.addsitedir({site.getsitepackages()[0]!r})\n")
    # The interpreter finds libpython through a run path under /root; the linked copy's comes first.
    python = ["env", f"LD_LIBRARY_PATH={linked / 'lib'}", str(linked / "bin" / version)]
    assert runs_as(python, uid, gid), f"{UNPRIVILEGED_USER} cannot run {python} with the project's packages"
    return python


def copy_tracked_files(destination: Path) -> None:
    tracked = subprocess.run(
        ["git", "ls-files", "-z"], cwd=BASE_DIR, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    for name in filter(None, tracked.split("\0")):
        source = BASE_DIR / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)


def make_read_only(tree: Path) -> None:
    """What the Dockerfile leaves: root's files that nobody else may write (chmod -R go-w), and here a-w on files."""
    for path in [tree, *tree.rglob("*")]:
        mode = path.lstat().st_mode
        if stat.S_ISLNK(mode):
            continue
        path.chmod(stat.S_IMODE(mode) & ~(0o222 if path.is_file() else 0o022))


def listing(tree: Path, *, skip: Path) -> dict[str, tuple[int, int, int]]:
    return {
        str(path.relative_to(tree)): (path.lstat().st_mtime_ns, path.lstat().st_size, path.lstat().st_mode)
        for path in [tree, *tree.rglob("*")]
        if skip not in (path, *path.parents)
    }


def can_write(image: Image, path: Path) -> bool:
    """Whether the unprivileged user may create `path` (the check that the copy is really read-only for it)."""
    probe = [*image.python, "-c", f"open({str(path)!r}, 'x').close()"]
    result = subprocess.run(probe, user=image.uid, group=image.gid, extra_groups=[], capture_output=True, timeout=60)
    return result.returncode == 0


def image_command() -> list[str]:
    """The Dockerfile's CMD (exec form)."""
    cmd = next(line for line in (BASE_DIR / "Dockerfile").read_text().splitlines() if line.startswith("CMD ["))
    return yaml.safe_load(cmd.removeprefix("CMD "))


def compose_command(service: str) -> list[str]:
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())["services"][service]["command"]


def call(method: str, url: str, body: dict[str, Any] | None = None, token: str = "") -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = requests.request(method, url, json=body, headers=headers, timeout=10)
    return response.status_code, response.json()


@pytest.fixture(scope="module")
def database_url() -> Iterator[str]:
    """A database of its own on the configured server, dropped afterwards: the image's processes migrate it."""
    configured = urlparse(os.environ["DATABASE_URL"])
    name = f"{configured.path.lstrip('/')}_image_{secrets.token_hex(4)}"
    maintenance = configured._replace(path="/postgres").geturl()
    with psycopg.connect(maintenance, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield configured._replace(path=f"/{name}").geturl()
    finally:
        with psycopg.connect(maintenance, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def image(database_url: str) -> Iterator[Image]:
    user = pwd.getpwnam(UNPRIVILEGED_USER)
    root = Path(tempfile.mkdtemp(prefix="drm-image-"))  # not under pytest's folder, which only root may enter
    root.chmod(0o755)
    app, writable = root / "app", root / "writable"
    app.mkdir()
    writable.mkdir(mode=0o700)
    os.chown(writable, user.pw_uid, user.pw_gid)
    try:
        copy_tracked_files(app)
        python = unprivileged_python(root, user.pw_uid, user.pw_gid)
        image = Image(app, writable, python, user.pw_uid, user.pw_gid, database_url)
        # The image's build, as root: the static files collected into the tree, then the tree made read-only, the
        # media folder the one place in it that the user owns.
        image.run_as_root("manage.py", "collectstatic", "--noinput", env=image.env())
        make_read_only(app)
        (app / "media").mkdir()
        os.chown(app / "media", user.pw_uid, user.pw_gid)
        yield image
        delete_broker_names(image.queue_prefix)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    """The bench's fake SMS gateway on 127.0.0.1, counting what it is sent."""
    server = Gateway(0, 0)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def answers(url: str, process: subprocess.Popen, log: Path) -> int:
    try:
        return wait_for_http(url, timeout=120, process=process)
    except (RuntimeError, TimeoutError) as exc:
        raise AssertionError(f"{exc}:\n{log.read_text()[-4000:]}") from None


def wait_until_sent(url: str, token: str, worker: subprocess.Popen) -> str:
    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    status = ""
    while time.monotonic() < deadline:
        assert worker.poll() is None, "the worker exited"
        status = call("GET", url, token=token)[1]["status"]
        if status != "queued":
            break
        time.sleep(0.3)
    return status


def test_the_image_serves_and_delivers_as_an_unprivileged_user_on_a_read_only_tree(image, gateway, tmp_path) -> None:
    env = image.env(
        SMS_BACKEND="apps.messages.backends.http.HttpGatewayBackend",
        SMS_GATEWAY_URL=f"http://127.0.0.1:{gateway.server_address[1]}/messages",
        DRAIN_SECONDS="0",
    )
    image.run_as_root("manage.py", "migrate_with_lock", env=env)
    create_sender = (
        f"from apps.users.models import User; User.objects.create_user({EMAIL!r}, {PASSWORD!r}, is_verified=True)"
    )
    image.run_as_root("manage.py", "shell", "-c", create_sender, env=env)
    before = listing(image.app, skip=image.app / "media")
    assert not can_write(image, image.app / "written-by-the-app")
    assert not can_write(image, image.app / "config" / "written-by-the-app")

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    logs = {"web": tmp_path / "web.log", "worker": tmp_path / "worker.log"}
    web = image.start(image_command(), env={**env, "GUNICORN_BIND": f"127.0.0.1:{port}"}, log=logs["web"])
    worker = image.start(compose_command("worker"), env=env, log=logs["worker"])
    try:
        assert answers(f"{base}/health/ready/", web, logs["web"]) == 200
        status, tokens = call("POST", f"{base}/api/v1/auth/login/", {"email": EMAIL, "password": PASSWORD})
        assert status == 200, tokens
        message = {"sender_number": "+15551230001", "receiver_number": "+442079460123", "body": "from the image"}
        status, created = call("POST", f"{base}/api/v1/messages/", message, token=tokens["access"])
        assert (status, created["status"]) == (201, "queued"), created

        url = f"{base}/api/v1/messages/{created['message_id']}/"
        assert wait_until_sent(url, tokens["access"], worker) == "sent"
        assert gateway.posts == 1
    finally:
        stop(web)
        stop(worker)

    for name, log in logs.items():
        text = log.read_text()
        assert not [word for word in DENIED if word in text], f"{name}:\n{text[-4000:]}"
    assert listing(image.app, skip=image.app / "media") == before


def test_the_image_starts_without_its_database_live_but_not_ready(image, tmp_path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = image.env(
        DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/nowhere",
        GUNICORN_BIND=f"127.0.0.1:{port}",
        DRAIN_SECONDS="0",
    )
    log = tmp_path / "web.log"
    web = image.start(image_command(), env=env, log=log)
    try:
        assert answers(f"{base}/health/live/", web, log) == 200
        assert call("GET", f"{base}/health/ready/")[0] == 503
        assert web.poll() is None
    finally:
        stop(web)
