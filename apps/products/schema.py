"""OpenAPI details drf-spectacular cannot infer for the catalog's fields."""

from typing import Any

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema

DECIMAL_STRING_IN = {"type": "string", "format": "decimal", "pattern": r"^\d{1,10}(\.\d{1,2})?$", "example": "19.99"}
DECIMAL_STRING_OUT = {"type": "string", "format": "decimal", "pattern": r"^\d{1,10}\.\d{2}$", "example": "19.99"}


class PriceFieldExtension(OpenApiSerializerFieldExtension):
    """Prices are answered as two-place strings and accepted as such a string or a JSON number (> 0)."""

    target_class = "apps.products.serializers.PriceField"

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        # Copies: drf-spectacular adds keys (readOnly, description) to what it is given.
        if direction == "response":
            return dict(DECIMAL_STRING_OUT)
        return {"oneOf": [dict(DECIMAL_STRING_IN), {"type": "number", "minimum": 0, "exclusiveMinimum": True}]}
