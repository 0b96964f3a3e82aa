import json

import pytest
from kombu import Connection

from apps.core.observability import health
from tests.helpers.processes import closed_port, django_get_json, project_env, run_python


def test_health_reports_every_dependency(api_client, db) -> None:
    response = api_client.get("/health/")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert check["latency_ms"] >= 0


def test_live_touches_no_dependency(api_client) -> None:
    # No `db` fixture: a query would be refused by pytest-django and turn this into a 500.
    response = api_client.get("/health/live/")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ready_when_migrations_are_applied(api_client, db) -> None:
    assert api_client.get("/health/ready/").status_code == 200


def test_service_info(api_client) -> None:
    response = api_client.get("/")
    assert response.status_code == 200
    assert response.json() == {
        "name": "django-rest-monolith",
        "version": "0.1.0",
        "docs": "/api/docs/",
        "health": "/health/",
    }


# The states below need a dependency that is really down: each runs the service in a fresh process whose URL
# points at a port nothing listens on.


def test_database_down_is_503_down() -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test", DATABASE_URL=f"postgres://postgres@127.0.0.1:{closed_port()}/x"
    )
    status, body = django_get_json("/health/", env=env)
    assert status == 503
    assert body["status"] == "down"
    assert body["checks"]["database"]["status"] == "down"

    status, body = django_get_json("/health/ready/", env=env)
    assert status == 503


def test_cache_down_is_degraded_but_200(tmp_path) -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{closed_port()}/0",
    )
    status, body = django_get_json("/health/", env=env)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["status"] == "down"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["cache"]["latency_ms"] < 2000


def test_broker_down_is_degraded_but_200(tmp_path) -> None:
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{closed_port()}//",
    )
    status, body = django_get_json("/health/", env=env)
    assert status == 200
    assert body["status"] == "degraded"
    assert body["checks"]["broker"]["status"] == "down"
    assert body["checks"]["broker"]["latency_ms"] < 3000


@pytest.mark.redis
@pytest.mark.broker
def test_real_servers_are_ok(api_client, db) -> None:
    body = api_client.get("/health/").json()
    assert body["checks"]["cache"] == {**body["checks"]["cache"], "status": "ok", "backend": "redis"}
    assert body["checks"]["broker"]["status"] == "ok"
    assert body["status"] == "ok"


# Why a check is down names internal hosts and ports: anyone sees which check is down, the metrics audience why.


def _get_from(address: str, env: dict[str, str]) -> tuple[int, dict]:
    code = (
        "import django, json; django.setup()\n"
        "from django.test import Client\n"
        f"r = Client(REMOTE_ADDR={address!r}).get('/health/')\n"
        "print(json.dumps({'status': r.status_code, 'body': json.loads(r.content)}))\n"
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    return answer["status"], answer["body"]


def test_anonymous_callers_see_which_check_is_down_not_why(tmp_path) -> None:
    redis_port, broker_port = closed_port(), closed_port()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
        CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{broker_port}//",
    )

    status, body = _get_from("203.0.113.7", env)

    assert status == 200
    assert body["status"] == "degraded"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "ok",
        "cache": "down",
        "broker": "down",
    }
    assert {field for check in body["checks"].values() for field in check} == {"status", "latency_ms"}
    text = json.dumps(body)
    for secret in ("127.0.0.1", str(redis_port), str(broker_port), "Error", "refused"):
        assert secret not in text

    status, body = _get_from("127.0.0.1", env)  # the metrics audience (loopback by default)
    assert status == 200
    assert str(redis_port) in body["checks"]["cache"]["error"]
    assert body["checks"]["broker"]["error"]


@pytest.fixture
def broker_connections(monkeypatch) -> list[int]:
    """Counts the broker connections kombu opens (each call still opens a real one)."""
    opened: list[int] = []
    establish = Connection._establish_connection

    def counting(self: Connection) -> object:
        opened.append(1)
        return establish(self)

    monkeypatch.setattr(Connection, "_establish_connection", counting)
    return opened


@pytest.mark.broker
@pytest.mark.parametrize("result_seconds", [None, 0.0], ids=["cached-result", "every-call"])
def test_fifty_probes_open_at_most_one_broker_connection(
    api_client, db, monkeypatch, broker_connections, result_seconds
) -> None:
    if result_seconds is not None:  # every call checks the broker: the connection alone must be reused
        monkeypatch.setattr(health, "BROKER_RESULT_SECONDS", result_seconds)

    bodies = [api_client.get("/health/").json() for _ in range(50)]

    assert all(body["checks"]["broker"]["status"] == "ok" for body in bodies)
    assert len(broker_connections) <= 1
