"""The OpenAPI schema documents every messages endpoint as docs/api.md describes it, without generator warnings."""

from typing import Any

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema


@pytest.fixture(scope="module")
def schema_and_warnings() -> tuple[dict[str, Any], list[str]]:
    GENERATOR_STATS.reset()
    GENERATOR_STATS.enable_trace_lineno()
    with GENERATOR_STATS.silence():
        schema = SchemaGenerator().get_schema(request=None, public=True)
    problems = [*GENERATOR_STATS._warn_cache, *GENERATOR_STATS._error_cache]
    validate_schema(schema)
    return schema, problems


def test_no_generator_warnings_from_the_messages_views(schema_and_warnings) -> None:
    _, problems = schema_and_warnings

    assert [problem for problem in problems if "apps/messages" in problem] == []


def test_every_messages_path_is_documented(schema_and_warnings) -> None:
    paths = schema_and_warnings[0]["paths"]

    assert set(paths["/api/v1/messages/"]) == {"get", "post"}
    assert set(paths["/api/v1/messages/{message_id}/"]) == {"get"}
    assert set(paths["/api/v1/messages/{message_id}/cancel/"]) == {"post"}
    assert set(paths["/api/v1/messages/search/"]) == {"get"}
    assert set(paths["/api/v1/accounts/{account_id}/messages/"]) == {"get"}
    assert set(paths["/api/v1/messages/receipts/{backend}/"]) == {"post"}
    assert set(paths["/api/v1/accounts/me/opt-outs/"]) == {"get", "post"}
    assert set(paths["/api/v1/accounts/me/opt-outs/{id}/"]) == {"delete"}
    assert set(paths["/api/v1/accounts/me/messaging/"]) == {"get", "patch"}
    assert set(paths["/api/v1/messages/inbound/{backend}/"]) == {"post"}
    assert set(paths["/api/v1/inbound-messages/"]) == {"get"}
    assert set(paths["/api/v1/inbound-messages/{message_id}/"]) == {"get"}
    assert set(paths["/api/v1/inbound-messages/search/"]) == {"get"}


def test_inbound_messages_are_documented(schema_and_warnings) -> None:
    schema = schema_and_warnings[0]
    post = schema["paths"]["/api/v1/messages/inbound/{backend}/"]["post"]
    search = schema["paths"]["/api/v1/inbound-messages/search/"]["get"]
    inbound = schema["components"]["schemas"]["InboundMessage"]

    assert set(post["responses"]) >= {"200", "201", "400", "401", "404"}
    assert {"X-Signature", "X-Signature-Timestamp"} <= {p["name"] for p in post["parameters"]}
    searched = {p["name"] for p in search["parameters"]}
    assert {"from_number", "to_number", "received_after", "received_before"} <= searched
    assert inbound["properties"]["direction"]["allOf"] == [{"$ref": "#/components/schemas/DirectionEnum"}]
    assert schema["components"]["schemas"]["DirectionEnum"]["enum"] == ["inbound"]
    outbound = schema["components"]["schemas"]["Message"]["properties"]["direction"]
    assert outbound["allOf"] == [{"$ref": "#/components/schemas/MessageDirectionEnum"}]
    assert schema["components"]["schemas"]["MessageDirectionEnum"]["enum"] == ["outbound"]
    create = schema["components"]["schemas"]["MessageCreateRequest"]
    assert "in_reply_to" in create["properties"]
    assert "sender_number" not in create.get("required", [])


def test_statuses_and_receipts_are_documented(schema_and_warnings) -> None:
    schema = schema_and_warnings[0]
    receipt = schema["paths"]["/api/v1/messages/receipts/{backend}/"]["post"]
    status = schema["components"]["schemas"]["MessageStatusEnum"]["enum"]

    assert status == ["queued", "sent", "failed", "delivered", "undelivered", "scheduled", "canceled", "expired"]
    assert set(receipt["responses"]) >= {"200", "400", "401", "404", "409"}
    assert {"X-Signature", "X-Signature-Timestamp"} <= {p["name"] for p in receipt["parameters"]}
    assert "another gateway took" in receipt["responses"]["404"]["description"]
    assert "`message_not_sent`" in receipt["responses"]["409"]["description"]
    assert "`message_ended`" in receipt["responses"]["409"]["description"]


def test_create_documents_the_idempotency_key_and_its_answers(schema_and_warnings) -> None:
    create = schema_and_warnings[0]["paths"]["/api/v1/messages/"]["post"]

    assert {"in": "header", "name": "Idempotency-Key"}.items() <= create["parameters"][0].items()
    assert {"201", "400", "403", "409"} <= set(create["responses"])


def test_search_documents_its_parameters(schema_and_warnings) -> None:
    search = schema_and_warnings[0]["paths"]["/api/v1/messages/search/"]["get"]

    names = {parameter["name"] for parameter in search["parameters"]}
    assert {"message_id", "sender_number", "receiver_number", "status", "created_after", "created_before"} <= names
    assert "400" in search["responses"]
    sender = next(parameter for parameter in search["parameters"] if parameter["name"] == "sender_number")
    assert "alphanumeric sender ID" in sender["description"]


def test_the_message_shape_is_the_contracts(schema_and_warnings) -> None:
    message = schema_and_warnings[0]["components"]["schemas"]["Message"]

    assert list(message["properties"]) == [
        "message_id",
        "direction",
        "account_id",
        "sender_number",
        "receiver_number",
        "body",
        "status",
        "attempts",
        "created_at",
        "sent_at",
        "status_callback",
        "error_code",
        "encoding",
        "segments",
        "send_at",
        "validity_period",
        "expires_at",
        "redact_body_after_send",
        "redacted_at",
        "backend",
        "in_reply_to",
    ]


def test_the_error_code_is_a_nullable_enum_of_stable_codes(schema_and_warnings) -> None:
    schemas = schema_and_warnings[0]["components"]["schemas"]
    field = schemas["Message"]["properties"]["error_code"]

    assert (field["allOf"], field["nullable"], field["readOnly"]) == (
        [{"$ref": "#/components/schemas/FailureReasonEnum"}],
        True,
        True,
    )
    assert schemas["FailureReasonEnum"]["enum"] == [
        "gateway_unreachable",
        "gateway_timeout",
        "gateway_rejected",
        "gateway_error",
        "receiver_unreachable",
        "queue_timeout",
        "recipient_opted_out",
        "delivery_failed",
    ]


def test_the_status_callback_is_a_nullable_read_only_string(schema_and_warnings) -> None:
    field = schema_and_warnings[0]["components"]["schemas"]["Message"]["properties"]["status_callback"]

    assert (field["type"], field["nullable"], field["readOnly"]) == ("string", True, True)
    assert "null when none" in field["description"]


def test_the_create_documents_its_location_as_the_relative_reference_it_answers(schema_and_warnings) -> None:
    # The create answers `Location: /api/v1/messages/<id>/` (test_create): a URI reference, which `format: uri`
    # (absolute URIs only) made every answer a schema violation to a client that validates headers.
    headers = schema_and_warnings[0]["paths"]["/api/v1/messages/"]["post"]["responses"]["201"]["headers"]

    assert headers["Location"]["schema"] == {"type": "string", "format": "uri-reference"}
