"""Request bodies over the limit are 413 before they are read; too many fields are 400, never 500."""

import io
import json
from typing import Any

import pytest
from django.test import Client

from tests.products.conftest import upload
from tests.users.factories import DEFAULT_PASSWORD

LOGIN = "/api/v1/auth/login/"
LIMIT = 1024 * 1024
TOO_LARGE = {"detail": f"The request body is larger than {LIMIT} bytes.", "code": "request_too_large"}


class ExplodingStream(io.BytesIO):
    """A body that must not be read at all."""

    def read(self, size: int | None = -1) -> bytes:
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.django_db
@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_over_the_limit_is_413_json_before_it_is_read(content_type: str) -> None:
    environ: dict[str, Any] = {"wsgi.input": ExplodingStream()}
    response = Client().generic("POST", LOGIN, content_type=content_type, CONTENT_LENGTH=str(LIMIT + 1), **environ)
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.django_db
def test_a_multipart_body_over_the_limit_is_413(api_client) -> None:
    response = api_client.post(
        LOGIN, {"email": "a@example.com", "pad": upload(b"x" * (LIMIT + 10))}, format="multipart"
    )
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.django_db
def test_a_body_at_the_limit_is_read(api_client) -> None:
    body = b'{"email": "a@example.com", "password": "' + b"p" * 100 + b'"}'
    response = api_client.generic("POST", LOGIN, body.ljust(LIMIT), content_type="application/json")
    assert response.status_code == 401


def _post_chunked(body: bytes):
    """What gunicorn hands over for a chunked body: no Content-Length, the de-chunked stream, its end marked."""
    environ: dict[str, Any] = {"wsgi.input": io.BytesIO(body), "wsgi.input_terminated": True}
    return Client().generic(
        "POST",
        LOGIN,
        CONTENT_LENGTH="",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **environ,
    )


@pytest.mark.django_db
def test_a_chunked_body_over_the_limit_is_413() -> None:
    response = _post_chunked(b" " * (LIMIT + 1))
    assert response.status_code == 413
    assert response.json() == TOO_LARGE


@pytest.mark.django_db
def test_a_chunked_body_under_the_limit_is_parsed(user) -> None:
    response = _post_chunked(json.dumps({"email": user.email, "password": DEFAULT_PASSWORD}).encode())
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.django_db
def test_too_many_query_parameters_is_400_json(user_client) -> None:
    query = "&".join(f"f{i}=1" for i in range(1500))
    response = user_client.get(f"/api/v1/messages/?{query}")
    assert response.status_code == 400
    assert response.json() == {"detail": "Too many fields in the query string or the form.", "code": "parse_error"}


@pytest.mark.django_db
def test_too_many_query_parameters_outside_drf_is_400_json(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    query = "&".join(f"f{i}=1" for i in range(1500))
    response = client.get(f"/admin/users/user/?{query}")
    assert response.status_code == 400
    assert response.json() == {"detail": "Bad request.", "code": "bad_request"}
