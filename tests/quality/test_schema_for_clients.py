"""What client generators read in the schema: JSON bodies only (multipart for the image upload), no security
requirement on open operations, integer path ids, boolean query flags, named enum members, bearer first; and
the parsers agree with the schema."""

from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return SchemaGenerator().get_schema(request=None, public=True)


def operations(schema: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), path): operation
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    }


def test_request_bodies_are_json_except_the_image_upload(schema) -> None:
    bodies = {key: list(op["requestBody"]["content"]) for key, op in operations(schema).items() if "requestBody" in op}
    assert bodies.pop(("PUT", "/api/v1/products/{id}/image/")) == ["multipart/form-data"]
    assert bodies
    assert set(map(tuple, bodies.values())) == {("application/json",)}


def test_open_operations_have_no_security_requirement(schema) -> None:
    ops = operations(schema)
    for key in [("POST", "/api/v1/auth/login/"), ("POST", "/api/v1/auth/register/"), ("GET", "/health/"), ("GET", "/")]:
        assert "security" not in ops[key], key
    for key, operation in ops.items():
        assert {} not in operation.get("security", []), key
    assert ops[("GET", "/api/v1/users/me/")]["security"] == [{"jwtAuth": []}, {"cookieAuth": []}]


def test_path_ids_are_integers(schema) -> None:
    for (_, path), operation in operations(schema).items():
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "path" and parameter["name"] == "id":
                assert parameter["schema"] == {"type": "integer"}, path


def test_product_list_parameters(schema) -> None:
    parameters = {p["name"]: p for p in operations(schema)[("GET", "/api/v1/products/")]["parameters"]}
    assert parameters["is_available"]["schema"] == {"type": "boolean"}
    ordering = parameters["ordering"]
    assert (ordering["style"], ordering["explode"], ordering["schema"]["type"]) == ("form", True, "array")
    items = ordering["schema"]["items"]
    names = dict(zip(items["enum"], items["x-enum-varnames"], strict=True))
    assert names["-created_at"] == "CREATED_AT_DESC"
    assert names["price"] == "PRICE"


def test_every_string_enum_has_member_names(schema) -> None:
    enums = [c for c in schema["components"]["schemas"].values() if "enum" in c]
    assert enums
    for component in enums:
        assert len(component["x-enum-varnames"]) == len(component["enum"])


def test_bearer_is_the_first_security_scheme(schema) -> None:
    assert list(schema["components"]["securitySchemes"]) == ["jwtAuth", "cookieAuth"]


@pytest.mark.django_db
def test_a_form_body_is_refused_with_415(api_client) -> None:
    response = api_client.post(
        "/api/v1/auth/login/", "email=a%40example.com&password=x", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415
    assert response.json() == {
        "detail": 'Unsupported media type "application/x-www-form-urlencoded" in request.',
        "code": "unsupported_media_type",
    }
