"""Inbound messages: the gateway posts them (POST /api/v1/messages/inbound/{backend}/); accounts read them
(/api/v1/inbound-messages/)."""

from typing import Any

from django.db.models import QuerySet
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.conditional import CONDITIONAL_READ, NOT_MODIFIED, conditional_get
from apps.core.http.schema import ERROR
from apps.core.keygen import KEY_LENGTH
from apps.users.request_user import request_user

from ..filters import list_parameter
from ..gateway_requests import GATEWAY_REQUEST_PARAMETERS, NOT_AUTHENTIC, GatewayRequestView
from ..models import BODY_MAX_LENGTH, INBOUND_MAX_PARTS, InboundMessage
from ..selectors import inbound_message_list_for_account, inbound_message_search
from ..serializers import InboundMessageSerializer
from .services import inbound_receive

_answer = inline_serializer(
    "InboundReceiptAnswer",
    {
        "message_id": serializers.CharField(help_text="The inbound message the text (or part) belongs to."),
        "status": serializers.ChoiceField(
            choices=InboundMessage.Status.choices, help_text="`receiving` while parts are missing."
        ),
        "stored": serializers.BooleanField(help_text="False for a resend: nothing new was stored."),
    },
)
_http_inbound = inline_serializer(
    "HttpGatewayInbound",
    {
        "from": serializers.CharField(help_text="The number that wrote (E.164)."),
        "to": serializers.CharField(help_text="The number written to (E.164): one an account owns."),
        "body": serializers.CharField(max_length=BODY_MAX_LENGTH, allow_blank=True),
        "gateway_message_id": serializers.CharField(
            help_text="The gateway's id of this text (or part): a resend under it stores nothing."
        ),
        "reference": serializers.CharField(
            required=False, help_text="For one part of a longer text: the reference its parts share."
        ),
        "part": serializers.IntegerField(
            required=False, min_value=1, max_value=INBOUND_MAX_PARTS, help_text="This part's place, from 1."
        ),
        "parts": serializers.IntegerField(
            required=False, min_value=1, max_value=INBOUND_MAX_PARTS, help_text="How many parts the text has."
        ),
    },
)


@extend_schema(
    tags=["messages"],
    summary="Receive a message (gateways)",
    request={"application/json": _http_inbound},
    parameters=GATEWAY_REQUEST_PARAMETERS,
    responses={
        201: _answer,
        200: OpenApiResponse(_answer, description="A resend: nothing new was stored."),
        400: OpenApiResponse(ERROR, description="The body is not the backend's inbound message shape."),
        401: NOT_AUTHENTIC,
        404: OpenApiResponse(
            ERROR, description="No such backend, or `number_not_owned`: no account owns `to` (nothing is stored)."
        ),
    },
)
class InboundGatewayView(GatewayRequestView):
    """A gateway hands over a text a customer sent to one of our numbers: 201 when stored, 200 for a resend.

    Not for API users: the gateway authenticates with its signature, as for delivery receipts. The `http`
    backend's body is `{"from", "to", "body", "gateway_message_id"}`, and for one part of a longer text also
    `reference`, `part` and `parts`. A resend (same `gateway_message_id`) stores nothing new; parts may come in any
    order and more than once. A text for a number no account owns is a 404 and nothing is stored.
    """

    realm = "inbound"

    def post(self, request: Request, backend: str) -> Response:
        sms = self.parsed(request, backend, lambda backend_class: backend_class.parse_inbound)
        receipt = inbound_receive(backend=backend, sms=sms)
        body = {"message_id": receipt.inbound.message_id, "status": receipt.inbound.status, "stored": receipt.stored}
        return Response(body, status=status.HTTP_201_CREATED if receipt.stored else status.HTTP_200_OK)


SEARCH_PARAMETERS = [
    list_parameter("message_id", "Inbound message id"),
    list_parameter("from_number", "The number that wrote, normalised (E.164; spaces, dashes, dots, brackets ignored)"),
    list_parameter("to_number", "The account's number written to, normalised like `from_number`"),
    OpenApiParameter(
        "status", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=[str(s) for s in InboundMessage.SHOWN_STATUSES]
    ),
    OpenApiParameter(
        "received_after",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="ISO 8601; messages received at or after this instant.",
    ),
    OpenApiParameter(
        "received_before",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="ISO 8601; messages received strictly before this instant.",
    ),
]


@extend_schema_view(
    list=extend_schema(
        summary="List inbound messages",
        parameters=CONDITIONAL_READ,
        responses={200: InboundMessageSerializer(many=True), 304: NOT_MODIFIED},
    ),
    retrieve=extend_schema(
        summary="Get an inbound message",
        parameters=CONDITIONAL_READ,
        responses={
            200: InboundMessageSerializer,
            304: NOT_MODIFIED,
            404: OpenApiResponse(ERROR, description="No such inbound message, or another account's."),
        },
    ),
)
@method_decorator(conditional_get, name="dispatch")
class InboundMessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Messages customers sent to the account's numbers (`direction` `inbound`), newest first.

    A caller sees only their own account's (an admin every account's); another account's is a 404. A text sent in
    parts shows once complete, or as `incomplete` once INBOUND_PARTS_TIMEOUT_SECONDS passed without its last parts.
    Answer one with `POST /messages/` naming `in_reply_to`.
    """

    serializer_class = InboundMessageSerializer
    filter_backends: list[type] = []
    lookup_field = "message_id"
    lookup_value_regex = f"[0-9a-z]{{{KEY_LENGTH}}}"

    def get_queryset(self) -> QuerySet[InboundMessage]:
        if getattr(self, "swagger_fake_view", False):
            return InboundMessage.objects.none()
        return inbound_message_list_for_account(user=request_user(self.request))

    @extend_schema(
        summary="Search inbound messages",
        parameters=[*SEARCH_PARAMETERS, *CONDITIONAL_READ],
        responses={
            200: InboundMessageSerializer(many=True),
            304: NOT_MODIFIED,
            400: OpenApiResponse(ERROR, description="A number that does not normalise, or a malformed date."),
        },
    )
    @action(detail=False, methods=["get"])
    def search(self, request: Request) -> Response:
        """The caller's inbound messages (an admin: every account's) matching every given parameter, newest first.

        `message_id`, `from_number` and `to_number` each take a comma-separated list and match any of its values.
        A number that does not normalise or a malformed date is a 400 naming the parameter.
        """
        queryset = inbound_message_search(user=request_user(request), params=request.query_params)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The caller's inbound messages, newest first (an admin: every account's)."""
        return super().list(request, *args, **kwargs)
