"""HEAD and OPTIONS on the service's own pages, as any HTTP client (a monitor, a browser's preflight, a fuzzer)
sends them: HEAD answers wherever GET does (RFC 9110 9.3.2), OPTIONS lists the methods, and neither is a 500."""

import pytest

pytestmark = pytest.mark.django_db

PAGES = ["/", "/health/", "/health/live/", "/health/ready/", "/api/v1/", "/api/schema/", "/api/docs/", "/api/redoc/"]


@pytest.mark.parametrize("path", PAGES)
def test_head_answers_as_get_does_without_a_body(api_client, path) -> None:
    get = api_client.get(path)

    head = api_client.head(path)

    assert get.status_code == 200
    assert (head.status_code, head.content) == (200, b"")
    assert head["Content-Type"] == get["Content-Type"]


@pytest.mark.parametrize("path", PAGES)
def test_options_lists_get_head_and_options(api_client, path) -> None:
    response = api_client.options(path)

    assert response.status_code == 200
    assert {"GET", "HEAD", "OPTIONS"} <= {method.strip() for method in response["Allow"].split(",")}


def test_options_on_the_swagger_page_answers_the_view_metadata_as_json(api_client) -> None:
    response = api_client.options("/api/docs/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["renders"] == ["text/html"]
