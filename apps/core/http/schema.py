"""The project's OpenAPI generator: drf-spectacular's AutoSchema, plus the error answers every view can give.

A view documents its own answers with `extend_schema`; the answers that come from the shared machinery (401 from
authentication, 403 from an admin-only permission, 404 from a detail lookup or a page past the end, 400 from a body
or a filter, 413 and 415 from a body too large or of another media type, 429 from a throttle) are added here from
the view's own classes, so no operation can forget one and the schema matches what the exception handler and the
middleware answer.
"""

import re
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiSerializerExtension
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny, IsAuthenticated

from apps.core.http.permissions import IsAdminOrReadOnly


class ErrorSerializer(serializers.Serializer):
    """The body of every 4xx answer (`apps.core.exceptions.api_exception_handler` makes them all)."""

    detail = serializers.CharField(required=False, help_text="What went wrong, when no field is to blame.")
    code = serializers.CharField(required=False, help_text="A stable machine-readable code, when there is one.")
    error = serializers.CharField(required=False, help_text="The provider's error (OpenID Connect sign-in only).")
    messages = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        required=False,
        help_text="Why each kind of token was refused (a 401 for a bad access token only).",
    )


class ErrorSchema(OpenApiSerializerExtension):
    """Adds DRF's validation shape to `Error`: any other key is a field (or `non_field_errors`, or a query
    parameter) with its list of messages."""

    target_class = ErrorSerializer

    def map_serializer(self, auto_schema: openapi.AutoSchema, direction: openapi.Direction) -> dict[str, Any]:
        schema = auto_schema._map_basic_serializer(self.target, direction)  # noqa: SLF001 - drf-spectacular's way for an extension to map a serializer
        schema["additionalProperties"] = {"type": "array", "items": {"type": "string"}}
        schema["description"] = (
            '`{"detail", "code"}` for a refused request or a broken rule; for invalid input, each field at '
            "fault (or `non_field_errors`, or a query parameter) with its list of messages."
        )
        return schema


ERROR = ErrorSerializer
WWW_AUTHENTICATE = {
    "WWW-Authenticate": {"schema": {"type": "string"}, "description": 'How to authenticate: `Bearer realm="api"`.'}
}
RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait before trying again."}}

# Permission classes that never refuse a signed-in user.
_OPEN_TO_USERS = (AllowAny, IsAuthenticated)


class AutoSchema(openapi.AutoSchema):
    def get_auth(self) -> list[dict[str, list[Any]]]:
        # An operation open to anyone has no security requirement at all. drf-spectacular would list the
        # authenticators plus `{}` ("optional"), which generators read as "needs an authenticated client".
        if not self._needs_authentication():
            return []
        return [requirement for requirement in super().get_auth() if requirement]

    def _get_response_bodies(self, direction: openapi.Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code, (body, description, headers) in self._shared_error_answers().items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(body, description), code, direction=direction
                )
            # DRF sends these headers with every 401 and 429, whoever documented the answer itself.
            for name, header in headers.items():
                responses[code].setdefault("headers", {}).setdefault(name, header)
        for code, response in responses.items():
            if code.startswith("4"):
                # Whatever a view declared, every 4xx body is the one `Error` shape: the handler makes them all.
                response["content"] = self._error_content(direction)
        return responses

    def _error_content(self, direction: openapi.Direction) -> dict[str, Any]:
        component = self.resolve_serializer(ErrorSerializer, direction)
        return {"application/json": {"schema": component.ref}}

    def _shared_error_answers(self) -> dict[str, tuple[Any, str, dict[str, Any]]]:
        answers: dict[str, tuple[Any, str, dict[str, Any]]] = {}
        if self._takes_input():
            answers["400"] = (ERROR, "Invalid input.", {})
        if self._needs_authentication():
            answers["401"] = (ERROR, "No valid credentials.", WWW_AUTHENTICATE)
        if self._may_refuse_a_user():
            answers["403"] = (ERROR, "Signed in, but not allowed to do this.", {})
        if "{" in self.path or self._is_paginated_list():
            answers["404"] = (ERROR, "No such object, or a page past the end.", {})
        if self.method in ("POST", "PUT", "PATCH"):
            answers["413"] = (ERROR, "The body is over the size limit; nothing of it was read.", {})
            answers["415"] = (ERROR, "The body's media type is not one this operation reads.", {})
        if self.view.get_throttles():
            answers["429"] = (ERROR, "Too many requests.", RETRY_AFTER)
        return answers

    def _takes_input(self) -> bool:
        has_body = self.method in ("POST", "PUT", "PATCH") and self.get_request_serializer() is not None
        # Pagination parameters never give a 400 (a bad page is a 404, a bad page_size the default); filters do.
        return has_body or bool(self._get_filter_parameters())

    def _needs_authentication(self) -> bool:
        permissions = self.view.get_permissions()
        return bool(self.view.get_authenticators()) and not all(isinstance(p, AllowAny) for p in permissions)

    def _may_refuse_a_user(self) -> bool:
        for permission in self.view.get_permissions():
            if isinstance(permission, _OPEN_TO_USERS):
                continue
            if isinstance(permission, IsAdminOrReadOnly) and self.method in SAFE_METHODS:
                continue
            return True
        return False

    def _is_paginated_list(self) -> bool:
        return self.method == "GET" and self._is_list_view() and self._get_paginator() is not None


def postprocess_for_generated_clients(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What client generators need beyond drf-spectacular's defaults: integer path ids, readable enum member
    names (`x-enum-varnames`, read by openapi-python-client and openapi-typescript), bearer listed first."""
    for item in result.get("paths", {}).values():
        for operation in item.values():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                if parameter.get("in") == "path" and schema.get("pattern") in _INTEGER_PATTERNS:
                    parameter["schema"] = {"type": "integer"}
    _name_enum_values(result)
    schemes = result.get("components", {}).get("securitySchemes")
    if schemes:
        # Swagger UI's Authorize dialog lists the schemes in this order: a pasted JWT goes to the first one.
        result["components"]["securitySchemes"] = dict(
            sorted(schemes.items(), key=lambda kv: kv[1].get("scheme") != "bearer")
        )
    return result


_INTEGER_PATTERNS = {r"^\d+$", r"\d+"}


def _name_enum_values(node: Any) -> None:
    if isinstance(node, dict):
        values = node.get("enum")
        if isinstance(values, list) and values and all(isinstance(value, str) for value in values):
            names = [_enum_member_name(value) for value in values]
            if all(names) and len(set(names)) == len(names):
                node["x-enum-varnames"] = names
        for child in node.values():
            _name_enum_values(child)
    elif isinstance(node, list):
        for child in node:
            _name_enum_values(child)


def _enum_member_name(value: str) -> str:
    """`-created_at` → `CREATED_AT_DESC`, `queued` → `QUEUED`: an ordering's `-` means descending."""
    descending = value.startswith("-")
    name = re.sub(r"\W+", "_", value.removeprefix("-")).strip("_").upper()
    if name[:1].isdigit():
        name = f"VALUE_{name}"
    return f"{name}_DESC" if descending and name else name
