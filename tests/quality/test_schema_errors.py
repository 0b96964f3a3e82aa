"""The schema documents the error answers the shared machinery gives (apps/core/http/schema.py), without a fuzz run:
401 with `WWW-Authenticate` where a token is needed, 404 on detail routes and paginated lists, 429 with
`Retry-After` where a throttle applies, 403 where only an admin may act."""

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def operations() -> dict[tuple[str, str], dict]:
    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    return {
        (method.upper(), path): operation
        for path, item in paths.items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_every_operation_that_needs_a_token_documents_its_401(operations) -> None:
    protected = {key for key, op in operations.items() if {} not in op.get("security", [{}])}

    assert ("GET", "/api/v1/messages/") in protected
    for key in protected:
        assert "WWW-Authenticate" in operations[key]["responses"]["401"].get("headers", {}), key


def test_detail_routes_and_paginated_lists_document_their_404(operations) -> None:
    for (method, path), operation in operations.items():
        schema = operation["responses"].get("200", {}).get("content", {}).get("application/json", {}).get("schema", {})
        if "{" in path or schema.get("$ref", "").split("/")[-1].startswith("Paginated"):
            assert "404" in operation["responses"], (method, path)


def test_throttled_operations_document_retry_after(operations) -> None:
    for key, operation in operations.items():
        if key[1].startswith("/api/v1/"):
            assert "Retry-After" in operation["responses"]["429"]["headers"], key


@pytest.mark.parametrize(
    "key",
    [
        ("GET", "/api/v1/users/"),
        ("POST", "/api/v1/categories/"),
        ("POST", "/api/v1/products/"),
        ("PATCH", "/api/v1/products/{id}/price/"),
        ("DELETE", "/api/v1/products/{id}/"),
    ],
)
def test_admin_only_operations_document_their_403(operations, key) -> None:
    assert "403" in operations[key]["responses"]


@pytest.mark.parametrize("key", [("GET", "/api/v1/products/"), ("GET", "/api/v1/categories/"), ("GET", "/")])
def test_reads_open_to_every_user_document_no_403(operations, key) -> None:
    assert "403" not in operations[key]["responses"]


def test_every_4xx_answer_is_the_one_error_component(operations) -> None:
    components = SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"]
    for key, operation in operations.items():
        for code, response in operation["responses"].items():
            if code.startswith("4"):
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
                }, (
                    key,
                    code,
                )
    error_like = {name for name in components if "error" in name.lower() or "conflict" in name.lower()}
    assert error_like == {"Error"}
    assert components["Error"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}
