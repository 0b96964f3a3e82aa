"""Outages lose nothing and break no request: the broker down, Redis down, against real servers and processes.

Nothing shared is stopped: "down" is a closed port that the service is pointed at; "back" is the real server.
"""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from apps.core.models import OutboxEvent
from apps.core.outbox.services import relay_pending_events
from apps.messages.models import Message
from bench.http import json_call
from tests.helpers.processes import BASE_DIR, closed_port, free_port, project_env, stop, wait_for_http
from tests.users.factories import DEFAULT_PASSWORD, UserFactory

DELIVERY_TIMEOUT_SECONDS = 60


def _http(method: str, url: str, body: dict | None = None, token: str | None = None) -> tuple[int, dict, float]:
    started = time.monotonic()
    status, answer = json_call(url, method, "", body, token, timeout=10)
    return status, answer, time.monotonic() - started


def _database_url() -> str:
    from django.db import connection

    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )


@pytest.fixture
def web_with_broker_down(transactional_db):
    """The service in its own process, on this test's database, with its broker URL on a closed port."""
    port = free_port()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=_database_url(),
        CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}//",
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health/live/", timeout=60, process=process)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_broker_outage_loses_no_message_and_no_event(web_with_broker_down, settings, request) -> None:
    user = UserFactory()
    token = str(RefreshToken.for_user(user).access_token)

    created = []
    for n in range(5):
        body = {"sender_number": "+15551230001", "receiver_number": f"+4420794610{n:02d}", "body": f"outage {n}"}
        status, answer, seconds = _http("POST", f"{web_with_broker_down}/api/v1/messages/", body, token)
        assert status == 201, answer
        assert seconds < 1.0, f"create took {seconds:.2f}s with the broker down"
        created.append(answer["message_id"])

    status, health, _ = _http("GET", f"{web_with_broker_down}/health/")
    assert (status, health["status"], health["checks"]["broker"]["status"]) == (200, "degraded", "down")
    assert set(Message.objects.filter(message_id__in=created).values_list("status", flat=True)) == {"queued"}
    pending = OutboxEvent.objects.filter(event_type="message.created", published_at__isnull=True)
    assert pending.count() == 5

    # The broker is back: a worker consumes it, and the beat sweepers run (here, once, in this process).
    request.getfixturevalue("celery_worker_process")
    settings.MESSAGE_REQUEUE_AFTER_SECONDS = 0
    from apps.messages.delivery.services import message_requeue_stale

    assert message_requeue_stale(overdue_by=timedelta(seconds=0)) == 5
    assert relay_pending_events() >= 5

    deadline = time.monotonic() + DELIVERY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if Message.objects.filter(message_id__in=created, status="sent").count() == len(created):
            break
        time.sleep(0.2)
    delivered = sorted(Message.objects.filter(message_id__in=created).values_list("status", "attempts"))
    assert delivered == [("sent", 1)] * 5, "every message accepted during the outage is sent, none twice"
    assert not OutboxEvent.objects.filter(event_type="message.created", published_at__isnull=True).exists()


@pytest.mark.django_db
def test_redis_outage_breaks_no_endpoint(api_client, auth_client, settings) -> None:
    settings.REDIS_URL = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    admin = auth_client(UserFactory(role="admin"))

    def timed(call):
        started = time.monotonic()
        response = call()
        assert time.monotonic() - started < 2.0
        return response

    registered = timed(lambda: api_client.post(
        "/api/v1/auth/register/", {"email": "outage@example.com", "password": DEFAULT_PASSWORD, "full_name": "O"}
    ))  # fmt: skip
    assert registered.status_code == 201, registered.json()
    login = timed(lambda: api_client.post(
        "/api/v1/auth/login/", {"email": "outage@example.com", "password": DEFAULT_PASSWORD}
    ))  # fmt: skip
    assert login.status_code == 200, login.json()
    user = auth_client(UserFactory())
    assert (
        timed(lambda: api_client.post("/api/v1/auth/refresh/", {"refresh": login.json()["refresh"]})).status_code == 200
    )
    assert timed(lambda: user.get("/api/v1/users/me/")).status_code == 200

    category = timed(lambda: admin.post("/api/v1/categories/", {"slug": "outage", "name": "Outage"}))
    assert category.status_code == 201, category.json()
    product = timed(lambda: admin.post(
        "/api/v1/products/", {"sku": "OUT-1", "name": "Lamp", "description": "", "category": "outage",
                              "price": "10.00", "stock": 1}
    ))  # fmt: skip
    assert product.status_code == 201, product.json()
    assert timed(lambda: user.get("/api/v1/products/")).json()["count"] == 1
    changed = timed(lambda: admin.patch(f"/api/v1/products/{product.json()['id']}/price/", {"price": "12.50"}))
    assert changed.status_code == 200
    # No cache to go stale: the read after the write comes from the database.
    assert timed(lambda: user.get(f"/api/v1/products/{product.json()['id']}/")).json()["price"] == "12.50"

    message = timed(lambda: user.post(
        "/api/v1/messages/", {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "hi"},
        HTTP_IDEMPOTENCY_KEY="outage-key-1",
    ))  # fmt: skip
    assert message.status_code == 201
    replay = timed(lambda: user.post(
        "/api/v1/messages/", {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "hi"},
        HTTP_IDEMPOTENCY_KEY="outage-key-1",
    ))  # fmt: skip
    assert replay.json()["message_id"] == message.json()["message_id"]
    assert timed(lambda: user.get("/api/v1/messages/search/", {"sender_number": "+15551230001"})).json()["count"] == 1

    health = timed(lambda: api_client.get("/health/"))
    assert (health.status_code, health.json()["status"], health.json()["checks"]["cache"]["status"]) == (
        200,
        "degraded",
        "down",
    )


@pytest.mark.redis
@pytest.mark.django_db
def test_redis_down_then_back_on_the_same_port(user_client, settings, tmp_path) -> None:
    """Down: a private Redis port with nothing on it. Back: a private redis-server started on that port."""
    import shutil

    from django.core.cache import cache

    port = closed_port()
    settings.REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": settings.REDIS_URL,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    assert user_client.get("/api/v1/users/me/").status_code == 200
    assert user_client.get("/health/").json()["checks"]["cache"]["status"] == "down"

    server = subprocess.Popen(
        [
            shutil.which("redis-server") or "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not cache.set("probe", 1):  # type: ignore[func-returns-value]  # django-redis's set says whether it stored
            time.sleep(0.1)
        assert cache.get("probe") == 1, "the cache is used again once Redis is back"
        body = user_client.get("/health/").json()
        assert (body["status"], body["checks"]["cache"]["status"]) == ("ok", "ok")
        assert user_client.get("/api/v1/users/me/").status_code == 200
    finally:
        stop(server)
