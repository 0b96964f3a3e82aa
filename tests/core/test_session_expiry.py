"""Admin and browsable-API sessions end after ADMIN_SESSION_SECONDS without a request, not after sign-in, and an
active session's row is rewritten at most once per grace period (config/settings/security.py)."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.users.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
LIMIT = timedelta(seconds=settings.SESSION_COOKIE_AGE)
GRACE = timedelta(seconds=settings.SESSION_EXPIRE_AFTER_LAST_ACTIVITY_GRACE_PERIOD)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(datetime(2026, 1, 5, 9, 0, tzinfo=UTC), tick=False) as traveller:
        yield traveller


def _signed_in(admin_user) -> Client:
    client = Client()
    response = client.post("/admin/login/?next=/admin/", {"username": admin_user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return client


def _session_row(client: Client) -> Session:
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value)


def test_a_session_idle_past_the_limit_is_signed_out(admin_user, clock) -> None:
    client = _signed_in(admin_user)
    assert client.get("/admin/").status_code == 200

    clock.shift(LIMIT + timedelta(seconds=1))
    response = client.get("/admin/")

    assert (response.status_code, response["Location"]) == (302, "/admin/login/?next=/admin/")


def test_a_session_used_every_hour_outlives_a_working_day_from_sign_in(admin_user, clock) -> None:
    client = _signed_in(admin_user)
    statuses = []
    for _ in range(12):
        clock.shift(timedelta(hours=1))
        statuses.append(client.get("/admin/").status_code)

    assert statuses == [200] * 12  # the last one twelve hours after sign-in


def test_requests_within_the_grace_period_do_not_write_the_session(admin_user, clock) -> None:
    client = _signed_in(admin_user)
    client.get("/admin/")
    expires = _session_row(client).expire_date

    clock.shift(GRACE - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/admin/")
    assert response.status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].startswith(("UPDATE", "INSERT")) and "django_session" in q["sql"]]
    assert writes == []
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # no new cookie either
    assert _session_row(client).expire_date == expires

    # Past the grace period, one request moves the expiry on by the time passed.
    clock.shift(timedelta(seconds=2))
    response = client.get("/admin/")
    assert settings.SESSION_COOKIE_NAME in response.cookies
    assert _session_row(client).expire_date == expires + GRACE + timedelta(seconds=1)
