"""The OpenAPI document describes the users endpoints as they answer."""

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def paths() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)["paths"]


@pytest.mark.parametrize(
    ("path", "method", "codes"),
    [
        ("/api/v1/auth/register/", "post", {"201", "400", "413", "415", "429"}),
        ("/api/v1/auth/login/", "post", {"200", "400", "401", "413", "415", "429"}),
        ("/api/v1/auth/refresh/", "post", {"200", "400", "401", "413", "415", "429"}),
        ("/api/v1/auth/logout/", "post", {"204", "400", "401", "413", "415", "429"}),
        ("/api/v1/auth/verify-email/", "post", {"204", "400", "413", "415", "429"}),
        ("/api/v1/auth/password/change/", "post", {"200", "400", "401", "413", "415", "429"}),
        ("/api/v1/auth/password/reset/", "post", {"202", "400", "413", "415", "429"}),
        ("/api/v1/auth/password/reset/confirm/", "post", {"204", "400", "413", "415", "429"}),
        ("/api/v1/users/me/", "get", {"200", "401", "429"}),
        ("/api/v1/users/me/", "patch", {"200", "400", "401", "413", "415", "429"}),
        ("/api/v1/users/me/activity/", "get", {"200", "401", "404", "429"}),  # 404: a page past the end
        ("/api/v1/auth/oidc/providers/", "get", {"200", "429"}),
        ("/api/v1/auth/oidc/{provider}/", "post", {"200", "400", "401", "404", "409", "413", "415", "429", "502"}),
        ("/api/v1/users/", "get", {"200", "400", "401", "403", "404", "429"}),  # 400: a bad filter
        ("/api/v1/users/{id}/", "get", {"200", "401", "403", "404", "429"}),
        ("/api/v1/users/{id}/", "patch", {"200", "400", "401", "403", "404", "413", "415", "429"}),
        ("/api/v1/users/{id}/", "delete", {"204", "400", "401", "403", "404", "429"}),
    ],
)
def test_every_endpoint_documents_its_answers(paths, path, method, codes) -> None:
    operation = paths[path][method]
    assert set(operation["responses"]) == codes
    assert operation["description"]
    for code in codes & {"202", "204"}:
        assert ("content" in operation["responses"][code]) == (code == "202")


def test_no_put_and_no_create_for_users(paths) -> None:
    assert "put" not in paths["/api/v1/users/{id}/"]
    assert "post" not in paths["/api/v1/users/"]
    assert "put" not in paths["/api/v1/users/me/"]


def test_the_user_list_documents_search_and_role(paths) -> None:
    names = {parameter["name"] for parameter in paths["/api/v1/users/"]["get"]["parameters"]}
    assert {"search", "role", "page", "page_size"} <= names


def test_throttled_answers_document_retry_after(paths) -> None:
    for path in ("/api/v1/auth/login/", "/api/v1/auth/password/reset/", "/api/v1/auth/oidc/{provider}/"):
        assert "Retry-After" in paths[path]["post"]["responses"]["429"]["headers"]
