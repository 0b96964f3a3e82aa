"""What the gateways' own requests share (delivery receipts, inbound messages): no token, but the backend's
signature over the exact bytes of the body; a rate of their own; the `{backend}` of the path names the gateway."""

from collections.abc import Callable
from typing import TypeVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import throttling
from rest_framework.exceptions import AuthenticationFailed, NotFound, ParseError
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.views import APIView

from apps.core.http.schema import ERROR
from apps.core.http.throttling import FixedWindowRateThrottle

from .backends import BaseSmsBackend, GatewayRequestInvalid, GatewayRequestNotAuthentic
from .backends.failover import gateway_backend
from .signatures import SIGNATURE_HEADER, TIMESTAMP_HEADER

Parsed = TypeVar("Parsed")

# What the schema says of every gateway request: the gateway's name in the path and the signature headers.
GATEWAY_REQUEST_PARAMETERS = [
    OpenApiParameter("backend", OpenApiTypes.STR, OpenApiParameter.PATH, enum=["http"]),
    OpenApiParameter(
        TIMESTAMP_HEADER, OpenApiTypes.INT, OpenApiParameter.HEADER, required=True, description="Unix seconds."
    ),
    OpenApiParameter(
        SIGNATURE_HEADER,
        OpenApiTypes.STR,
        OpenApiParameter.HEADER,
        required=True,
        description="Hex HMAC-SHA256 of `<timestamp>.<body>` under the gateway's shared secret.",
    ),
]
NOT_AUTHENTIC = OpenApiResponse(ERROR, description="Missing or wrong signature, or a timestamp over 5 minutes off.")


class GatewayRateThrottle(FixedWindowRateThrottle, throttling.AnonRateThrottle):
    # Gateways post in bursts: a rate of their own (THROTTLE_RATE_RECEIPTS), far above the anonymous one.
    scope = "receipts"


class RawBodyParser(BaseParser):
    """Leaves the body unparsed: the signature covers its exact bytes, which the backend reads itself."""

    media_type = "*/*"


class GatewayRequestView(APIView):
    """A view a gateway posts to: `parsed` authenticates the request through its backend and reads its body."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    throttle_classes = [GatewayRateThrottle]
    parser_classes = [RawBodyParser]
    realm = "gateway"

    def get_authenticate_header(self, request: Request) -> str:
        # Without one DRF would turn the refused signature's 401 into a 403.
        return f'Signature realm="{self.realm}"'

    def parsed(
        self, request: Request, backend: str, parse: Callable[[type[BaseSmsBackend]], Callable[..., Parsed]]
    ) -> Parsed:
        """`parse(backend_class)(body=..., headers=...)`: a 404 for an unknown backend, a 401 for a bad signature,
        a 400 for a body that is not the backend's shape."""
        backend_class_ = gateway_backend(backend)
        if backend_class_ is None:
            raise NotFound("No gateway posts under this name.")
        try:
            return parse(backend_class_)(body=request.body, headers=request.headers)
        except GatewayRequestNotAuthentic as exc:
            raise AuthenticationFailed(str(exc)) from exc
        except GatewayRequestInvalid as exc:
            raise ParseError(str(exc)) from exc
