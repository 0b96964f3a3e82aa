"""The OpenAPI document describes the catalog as docs/api.md does."""

import pytest
from drf_spectacular.generators import SchemaGenerator


@pytest.fixture(scope="module")
def schema() -> dict:
    return SchemaGenerator().get_schema(request=None, public=True)


def test_catalog_paths_and_methods(schema) -> None:
    paths = schema["paths"]
    methods = {
        path: set(operations) for path, operations in paths.items() if "/products" in path or "/categories" in path
    }
    assert methods == {
        "/api/v1/categories/": {"get", "post"},
        "/api/v1/products/": {"get", "post"},
        "/api/v1/products/{id}/": {"get", "patch", "delete"},  # no PUT
        "/api/v1/products/{id}/price/": {"patch"},
        "/api/v1/products/{id}/availability/": {"patch"},
        "/api/v1/products/{id}/price-history/": {"get"},
        "/api/v1/products/{id}/image/": {"put"},
    }


def test_list_filters_are_documented(schema) -> None:
    parameters = {p["name"]: p for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"search", "category", "min_price", "max_price", "is_available", "ordering", "page", "page_size"} <= set(
        parameters
    )
    assert parameters["is_available"]["schema"] == {"type": "boolean"}
    assert set(parameters["ordering"]["schema"]["items"]["enum"]) == {
        "name", "-name", "price", "-price", "created_at", "-created_at",
    }  # fmt: skip


def test_answers_and_bodies(schema) -> None:
    paths = schema["paths"]
    product = schema["components"]["schemas"]["Product"]["properties"]
    assert list(product) == [
        "id", "sku", "name", "description", "category", "price", "currency", "stock", "is_available", "image_url",
        "created_at", "updated_at",
    ]  # fmt: skip
    assert product["price"]["type"] == "string"
    request_price = schema["components"]["schemas"]["ProductRequest"]["properties"]["price"]
    assert {option["type"] for option in request_price["oneOf"]} == {"string", "number"}
    image = paths["/api/v1/products/{id}/image/"]["put"]
    assert list(image["requestBody"]["content"]) == ["multipart/form-data"]
    assert set(image["responses"]) == {"200", "400", "401", "403", "404", "412", "413", "415", "429"}
    delete = paths["/api/v1/products/{id}/"]["delete"]["responses"]
    assert set(delete) == {"204", "401", "403", "404", "412", "429"}
    history = paths["/api/v1/products/{id}/price-history/"]["get"]["responses"]["200"]
    assert history["content"]["application/json"]["schema"]["$ref"].endswith("PaginatedPriceChangeList")


def test_conditional_reads_and_writes_are_documented(schema) -> None:
    paths = schema["paths"]
    for read in (paths["/api/v1/products/"]["get"], paths["/api/v1/products/{id}/"]["get"]):
        assert "If-None-Match" in {p["name"] for p in read["parameters"] if p["in"] == "header"}
        assert "304" in read["responses"]
        assert "ETag" in read["responses"]["200"]["headers"]
    for path, method in [("/api/v1/products/{id}/", "patch"), ("/api/v1/products/{id}/price/", "patch")]:
        write = paths[path][method]
        assert "If-Match" in {p["name"] for p in write["parameters"] if p["in"] == "header"}
        assert "412" in write["responses"]
