"""PostgreSQL unreachable: every endpoint answers 503 (no traceback logged), and deliveries resume within seconds.

The database is the test's real one, reached through a relay the test cuts (tests/helpers/outage.py): open
connections drop and new ones are refused, as when the server stops; nothing shared is stopped.
"""

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.background.outages import DATABASE_UNAVAILABLE_BODY, RETRY_AFTER_SECONDS
from apps.messages.models import Message
from tests.conftest import database_url
from tests.helpers.outage import CuttableRelay
from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http
from tests.messages.factories import MessageFactory
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
RESUME_WITHIN_SECONDS = 20  # far below MESSAGE_REQUEUE_AFTER_SECONDS (60): the sweeper is not what sends it


@pytest.fixture
def database_relay(transactional_db):
    from django.db import connection

    database = connection.settings_dict
    relay = CuttableRelay(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    yield relay
    relay.close()


def _call(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None):
    request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
        url,
        method=method,
        headers={"Content-Type": "application/json", **(headers or {})},
        data=json.dumps(body).encode() if body is not None else None,
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, dict(response.headers), json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read() or b"{}")


def test_every_endpoint_answers_503_while_the_database_is_unreachable(database_relay, tmp_path) -> None:
    user = UserFactory()
    token = str(RefreshToken.for_user(user).access_token)
    port = free_port()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(database_relay.port),
        LOG_DIR=str(tmp_path),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    bearer = {"Authorization": f"Bearer {token}"}
    message = {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "hi"}
    try:
        wait_for_http(f"{base}/health/live/", timeout=60, process=server)
        assert _call(f"{base}/api/v1/users/me/", headers=bearer)[0] == 200

        database_relay.cut()
        requests = [
            ("POST", "/api/v1/messages/", message, bearer),
            ("GET", "/api/v1/messages/", None, bearer),
            ("GET", "/api/v1/products/", None, bearer),
            ("POST", "/api/v1/auth/login/", {"email": user.email, "password": DEFAULT_PASSWORD}, None),
            ("GET", "/admin/", None, {"Cookie": f"sessionid={'s' * 32}"}),
        ]
        for method, path, body, headers in requests:
            status, answer_headers, answer = _call(base + path, method, body, headers)
            assert (status, answer_headers.get("Retry-After"), answer) == (
                503,
                str(RETRY_AFTER_SECONDS),
                DATABASE_UNAVAILABLE_BODY,
            ), f"{method} {path}"
        status, _, health = _call(f"{base}/health/")
        assert (status, health["status"]) == (503, "down")

        database_relay.restore()
        assert _call(f"{base}/api/v1/messages/", "POST", message, bearer)[0] == 201, "the same process recovers"
    finally:
        stop(server)

    errors = (tmp_path / "error.log").read_text()
    assert errors == "", "an outage is not an application error"
    warnings = [json.loads(line) for line in (tmp_path / "app.log").read_text().splitlines()]
    outage_lines = [line for line in warnings if line["message"].startswith("Database unavailable during")]
    assert len(outage_lines) == len(requests)
    assert not any("exc_info" in line for line in warnings), "no traceback per request"


@pytest.mark.broker
@pytest.mark.worker
def test_a_delivery_during_a_database_outage_is_sent_within_seconds_of_its_return(
    database_relay, start_celery_worker
) -> None:
    from apps.messages.tasks import deliver_message_task, deliver_messages_task

    start_celery_worker(database_port=database_relay.port)
    before, alone, batched = MessageFactory(), MessageFactory(), MessageFactory()
    deliver_message_task.delay(before.pk)
    _wait_until_sent(before.pk, seconds=60)  # the worker is up and holds a database connection

    database_relay.cut()
    deliver_message_task.delay(alone.pk)  # a retry's or the sweeper's task
    deliver_messages_task.delay([batched.pk])  # the batch a create publishes
    time.sleep(3)  # the worker takes the tasks at once and meets the outage
    assert set(Message.objects.values_list("status", flat=True).filter(pk__in=[alone.pk, batched.pk])) == {"queued"}

    database_relay.restore()
    for pk in (alone.pk, batched.pk):
        _wait_until_sent(pk, seconds=RESUME_WITHIN_SECONDS)
    sent = Message.objects.filter(pk__in=[alone.pk, batched.pk]).values_list("status", "attempts")
    assert list(sent) == [(Message.Status.SENT, 1)] * 2


def _wait_until_sent(pk: int, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if Message.objects.filter(pk=pk, status=Message.Status.SENT).exists():
            return
        time.sleep(0.2)
    status = Message.objects.get(pk=pk).status
    raise AssertionError(f"message {pk} is still {status} {seconds}s later")
