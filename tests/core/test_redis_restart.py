"""Redis stopped, written around, and restarted with its old data: no read after a write shows old data.

The server is a private redis-server on a spare port with its own directory and append-only file (every write
synced), so it comes back with exactly what it held when it stopped: the cached catalog bodies and message counts
from before the writes made while it was down.
"""

import shutil
import subprocess
import time
from pathlib import Path

import pytest
from django.core.cache import caches
from django_redis.cache import RedisCache

from apps.messages.pagination import account_counts
from apps.products.cache import catalog_reads
from tests.helpers.processes import free_port, stop
from tests.products.factories import ProductFactory
from tests.users.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs the redis-server program"),
]


def _start_redis(port: int, directory: Path) -> subprocess.Popen:
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1",
         "--dir", str(directory), "--appendonly", "yes", "--appendfsync", "always", "--save", ""],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not cache.set("probe", 1):
        time.sleep(0.1)
    assert cache.get("probe") == 1, "the private Redis answers"
    return server


def _entries(prefix: str) -> list[str]:
    cache = caches["default"]
    assert isinstance(cache, RedisCache)
    return cache.keys(f"{prefix}*")


def test_writes_made_while_redis_was_down_are_seen_after_it_comes_back_with_its_data(
    settings, auth_client, tmp_path, django_capture_on_commit_callbacks
) -> None:
    port = free_port()
    settings.CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{port}/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.25, "SOCKET_TIMEOUT": 0.25, "IGNORE_EXCEPTIONS": True},
        }
    }
    product = ProductFactory(price="19.99")
    user = UserFactory()
    admin, client = auth_client(UserFactory(role="admin")), auth_client(user)
    message = {"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "hi"}
    server = _start_redis(port, tmp_path)
    try:
        assert client.get(f"/api/v1/products/{product.pk}/").json()["price"] == "19.99"
        assert client.get("/api/v1/messages/").json()["count"] == 0
        assert _entries(catalog_reads.entry_key(""))
        assert _entries(account_counts.entry_key(""))

        stop(server)  # SIGTERM: the append-only file holds every write
        with django_capture_on_commit_callbacks(execute=True):
            changed = admin.patch(f"/api/v1/products/{product.pk}/price/", {"price": "25.00"}, format="json")
            created = client.post("/api/v1/messages/", message, format="json")
        assert (changed.status_code, created.status_code) == (200, 201)

        server = _start_redis(port, tmp_path)
        assert _entries(catalog_reads.entry_key("")), "Redis came back with the bodies cached before the outage"
        assert _entries(account_counts.entry_key("")), "and with the counts"

        assert client.get(f"/api/v1/products/{product.pk}/").json()["price"] == "25.00"
        assert client.get("/api/v1/products/").json()["results"][0]["price"] == "25.00"
        assert client.get("/api/v1/messages/").json()["count"] == 1
    finally:
        stop(server)
