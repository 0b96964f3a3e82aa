import pytest

from tests.helpers.processes import closed_port, django_get_json, project_env


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
