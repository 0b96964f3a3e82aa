"""The gateway's delivery receipts: POST /api/v1/messages/receipts/{backend}/."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.schema import ERROR

from ..gateway_requests import GATEWAY_REQUEST_PARAMETERS, NOT_AUTHENTIC, GatewayRequestView
from .services import message_record_receipt

_answer = inline_serializer(
    "DeliveryReceiptAnswer",
    {
        "message_id": serializers.CharField(),
        "status": serializers.ChoiceField(choices=["delivered", "undelivered"]),
        "changed": serializers.BooleanField(help_text="False when an earlier receipt already decided the status."),
    },
)
_http_receipt = inline_serializer(
    "HttpGatewayReceipt",
    {
        "reference": serializers.CharField(help_text="The `message_id` the message was sent with."),
        "status": serializers.ChoiceField(choices=["delivered", "undelivered"]),
        "error": serializers.CharField(required=False, help_text="The gateway's reason, for `undelivered`."),
    },
)


@extend_schema(
    tags=["messages"],
    summary="Report a delivery (gateways)",
    request={"application/json": _http_receipt},
    parameters=GATEWAY_REQUEST_PARAMETERS,
    responses={
        200: _answer,
        400: OpenApiResponse(ERROR, description="The body is not the backend's receipt shape."),
        401: NOT_AUTHENTIC,
        404: OpenApiResponse(
            ERROR,
            description="No such backend, or no message sent through it with this reference (`unknown_message`: "
            "a message another gateway took is unknown to this one).",
        ),
        409: OpenApiResponse(
            ERROR,
            description="`message_not_sent`: the message is not sent yet, send the receipt again later; "
            "`message_ended`: it ended canceled, expired or failed without a confirmed send, and no receipt "
            "changes it (do not send it again).",
        ),
    },
)
class DeliveryReceiptView(GatewayRequestView):
    """A gateway's delivery receipt for a sent message: moves it to `delivered` or `undelivered`.

    Not for API users: the gateway authenticates with its signature, not a token. The `http` backend's receipt
    is `{"reference": message_id, "status": "delivered" | "undelivered", "error"?}`, signed with
    `X-Signature-Timestamp` and `X-Signature`. `{backend}` is the gateway's name: a receipt counts only for a
    message that gateway took. A repeated receipt changes nothing (`changed` is false); a receipt with a bad
    signature, for an unknown message or one another gateway took, or for a message that ended unsent changes
    nothing either.
    """

    realm = "receipts"

    def post(self, request: Request, backend: str) -> Response:
        receipt = self.parsed(request, backend, lambda backend_class: backend_class.parse_receipt)
        result = message_record_receipt(receipt=receipt, backend=backend)
        body = {"message_id": result.message.message_id, "status": result.message.status, "changed": result.changed}
        return Response(body, status=status.HTTP_200_OK)
