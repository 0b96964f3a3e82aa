import re

import pytest
from django.test import Client


def test_request_id_is_echoed(api_client) -> None:
    response = api_client.get("/health/live/", HTTP_X_REQUEST_ID="req-abc-123")
    assert response["X-Request-ID"] == "req-abc-123"


def test_request_id_is_made_when_absent(api_client) -> None:
    first = api_client.get("/health/live/")["X-Request-ID"]
    second = api_client.get("/health/live/")["X-Request-ID"]
    assert len(first) >= 16
    assert first != second


@pytest.mark.django_db
def test_unknown_api_path_is_json_404(api_client) -> None:
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_unknown_api_path_is_json_404_with_debug(api_client, settings) -> None:
    settings.DEBUG = True
    response = api_client.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


@pytest.mark.django_db
def test_wrong_method_is_json_405(api_client) -> None:
    response = api_client.delete("/health/")
    assert response.status_code == 405
    assert response.json() == {"detail": 'Method "DELETE" not allowed.', "code": "method_not_allowed"}


@pytest.mark.django_db
def test_missing_trailing_slash_redirects_a_get(api_client) -> None:
    response = api_client.get("/health")
    assert response.status_code == 301
    assert response["Location"] == "/health/"


@pytest.mark.urls("tests.core.urls_for_errors")
def test_unhandled_exception_in_api_is_json_500_with_request_id(db) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/api/v1/test-crash/", HTTP_X_REQUEST_ID="crash-id-1")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error", "request_id": "crash-id-1"}
    assert b"secret internals" not in response.content


@pytest.mark.urls("tests.core.urls_for_errors")
def test_unhandled_exception_outside_drf_is_json_500(db) -> None:
    client = Client(raise_request_exception=False)
    response = client.get("/plain-crash/", HTTP_X_REQUEST_ID="crash-id-2")
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal server error.", "code": "server_error", "request_id": "crash-id-2"}


def test_request_id_is_on_every_log_line(api_client, caplog) -> None:
    import logging

    from django.conf import settings
    from django_guid.log_filters import CorrelationId

    filter_ = CorrelationId(correlation_id_field="request_id")
    logger = logging.getLogger("django.request")
    logger.addFilter(filter_)
    try:
        with caplog.at_level(logging.WARNING, logger="django.request"):
            api_client.get("/no-such-page/", HTTP_X_REQUEST_ID="log-id-7")
    finally:
        logger.removeFilter(filter_)
    assert any(getattr(record, "request_id", None) == "log-id-7" for record in caplog.records)
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["request_id"]


@pytest.mark.urls("tests.core.urls_for_errors")
def test_malformed_json_is_json_400(api_client, db) -> None:
    response = api_client.post("/api/v1/test-echo/", data='{"broken": ', content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


@pytest.mark.urls("tests.core.urls_for_errors")
def test_well_formed_json_reaches_the_view(api_client, db) -> None:
    response = api_client.post("/api/v1/test-echo/", data={"ok": [1, 2]}, format="json")
    assert response.status_code == 200
    assert response.json() == {"ok": [1, 2]}


@pytest.mark.parametrize(
    "sent",
    ["x" * 65, "a b", "id\r\n forged log line", "ünïcode", "semi;colon", ""],
    ids=["too-long", "space", "folded", "non-ascii", "semicolon", "empty"],
)
def test_a_request_id_outside_the_pattern_is_replaced(api_client, sent) -> None:
    response = api_client.get("/health/live/", HTTP_X_REQUEST_ID=sent)
    assert response["X-Request-ID"] != sent
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


def test_a_request_id_of_64_allowed_characters_is_echoed(api_client) -> None:
    sent = "A-z_0.9" * 9 + "a"
    assert len(sent) == 64
    assert api_client.get("/health/live/", HTTP_X_REQUEST_ID=sent)["X-Request-ID"] == sent


@pytest.mark.django_db
def test_a_long_request_id_never_reaches_the_audit_row(api_client) -> None:
    from apps.core.models import AuditEvent

    body = {"email": "new@example.com", "password": "a-long-enough-password-9", "full_name": "New User"}
    response = api_client.post("/api/v1/auth/register/", body, HTTP_X_REQUEST_ID="r" * 8000)

    assert response.status_code == 201
    assert AuditEvent.objects.get(action="user.registered").request_id == response["X-Request-ID"]
    assert len(response["X-Request-ID"]) == 32
