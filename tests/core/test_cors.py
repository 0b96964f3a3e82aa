"""Cross-origin calls: the API answers the origins of CORS_ALLOWED_ORIGINS, and only the API does."""

import pytest

ALLOWED = "https://app.example.com"


@pytest.fixture
def allowed_origin(settings) -> None:
    settings.CORS_ALLOWED_ORIGINS = [ALLOWED]


def preflight(client, path: str, origin: str):
    return client.options(
        path,
        HTTP_ORIGIN=origin,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
    )


def test_an_allowed_origin_may_call_the_api(db, api_client, allowed_origin) -> None:
    response = preflight(api_client, "/api/v1/messages/", ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "authorization" in response["Access-Control-Allow-Headers"]
    assert "origin" in response["Vary"].lower()


def test_an_allowed_origin_reads_the_headers_a_client_acts_on(user_client, allowed_origin) -> None:
    response = user_client.get("/api/v1/products/", HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    exposed = {name.strip().lower() for name in response["Access-Control-Expose-Headers"].split(",")}
    # ETag is what the next If-Match names; none of these is a CORS-safelisted header a page could read without.
    assert {"x-request-id", "etag", "retry-after", "location", "idempotent-replayed"} <= exposed
    assert response["ETag"]
    assert response["X-Request-ID"]


def test_another_origin_gets_no_permission(user_client, allowed_origin) -> None:
    response = user_client.get("/api/v1/products/", HTTP_ORIGIN="https://evil.example.net")

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
    assert "Access-Control-Expose-Headers" not in response


@pytest.mark.parametrize("path", ["/health/live/", "/admin/login/"])
def test_pages_outside_the_api_answer_no_origin(db, client, allowed_origin, path) -> None:
    response = client.get(path, HTTP_ORIGIN=ALLOWED)

    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
