"""A first run's log shows what happened and nothing else: no 404 for the favicon on every page, no socket repr
on runserver's lines."""

import logging
import socket

from django.contrib.staticfiles import finders
from django.test import Client

from apps.core.observability.logs import DropServerSocket


def test_the_favicon_is_served_not_a_404(db) -> None:
    response = Client().get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == "/static/core/favicon.ico"
    assert "max-age=86400" in response["Cache-Control"]
    icon = finders.find("core/favicon.ico")
    assert icon
    with open(icon, "rb") as handle:
        assert handle.read(4) == b"\x00\x00\x01\x00"  # an ICO file


def test_runserver_lines_drop_the_socket() -> None:
    with socket.socket() as connection:
        record = logging.LogRecord("django.server", logging.INFO, __file__, 1, '"GET / HTTP/1.1" 200 2', None, None)
        record.request = connection
        record.status_code = 200
        assert DropServerSocket().filter(record) is True
    assert not hasattr(record, "request")
    assert getattr(record, "status_code", None) == 200


def test_runserver_logs_through_the_service_console_with_the_filter() -> None:
    from django.conf import settings

    config = settings.LOGGING["loggers"]["django.server"]
    assert config["filters"] == ["drop_server_socket"]
    assert config["handlers"] == ["console"]


def test_no_broker_warning_when_tasks_run_in_process(api_client, db, caplog, django_capture_on_commit_callbacks):
    on_commit = django_capture_on_commit_callbacks(execute=True)
    with caplog.at_level(logging.WARNING, logger="kombu"), on_commit:
        response = api_client.post(
            "/api/v1/auth/register/",
            {"email": "quiet@example.com", "password": "a-long-quiet-password-31", "full_name": "Q"},
            format="json",
        )
    assert response.status_code == 201
    assert [r.getMessage() for r in caplog.records if r.name.startswith("kombu")] == []


def test_view_descriptions_render_as_markdown(admin_client) -> None:
    page = admin_client.get("/api/v1/products/", HTTP_ACCEPT="text/html").content.decode()
    assert "<code>ordering</code>" in page
    assert "`ordering`" not in page
