"""The message endpoints: create, retrieve, list and search, and one account's messages.

Past 300 lines: most of it is the schema's description of each operation, which belongs beside it.
"""

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from django.urls import reverse
from django.utils.decorators import method_decorator
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.conditional import CONDITIONAL_READ, NOT_MODIFIED, conditional_get
from apps.core.http.permissions import is_admin
from apps.core.http.schema import ERROR
from apps.core.keygen import KEY_LENGTH
from apps.users.authentication import BatchedAuthenticationReadsMixin
from apps.users.request_user import request_user

from ..acceptance.services import message_create
from ..filters import MessageListFilter, list_parameter
from ..lifecycle.services import message_cancel
from ..models import IDEMPOTENCY_KEY_MAX_LENGTH, Message
from ..pagination import MessagePagination, count_entry_key, normalized_list_query
from ..selectors import account_exists, account_is_visible, message_list_for_account, message_search
from ..serializers import MessageCreateSerializer, MessageSerializer, message_data, message_read_data

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"

_not_found = OpenApiResponse(ERROR, description="No such message, or another account's.")


SEARCH_PARAMETERS = [
    list_parameter("message_id", "Message id"),
    list_parameter(
        "sender_number",
        "Sender, validated and normalised like a create body's: an E.164 number (spaces, dashes, dots and brackets "
        "ignored) or an alphanumeric sender ID (1 to 11 letters, digits and spaces, at least one letter)",
    ),
    list_parameter(
        "receiver_number",
        "Receiver number, normalised like a create body's (E.164; spaces, dashes, dots and brackets ignored)",
    ),
    OpenApiParameter("status", OpenApiTypes.STR, OpenApiParameter.QUERY, enum=Message.Status.values),
    OpenApiParameter(
        "segments", OpenApiTypes.INT, OpenApiParameter.QUERY, description="Exactly this many SMS segments."
    ),
    OpenApiParameter(
        "segments_min", OpenApiTypes.INT, OpenApiParameter.QUERY, description="At least this many SMS segments."
    ),
    OpenApiParameter(
        "segments_max", OpenApiTypes.INT, OpenApiParameter.QUERY, description="At most this many SMS segments."
    ),
    OpenApiParameter(
        "created_after",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="ISO 8601; messages created at or after this instant.",
    ),
    OpenApiParameter(
        "created_before",
        OpenApiTypes.DATETIME,
        OpenApiParameter.QUERY,
        description="ISO 8601; messages created strictly before this instant.",
    ),
]


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get(IDEMPOTENCY_HEADER, "").strip()
    if not key:
        return None
    if len(key) > IDEMPOTENCY_KEY_MAX_LENGTH:
        raise ValidationError(
            {IDEMPOTENCY_HEADER: [f"Ensure this header has no more than {IDEMPOTENCY_KEY_MAX_LENGTH} characters."]}
        )
    return key


def _count_keys(request: Request, account_id: UUID) -> list[str]:
    """The cached count a page of `account_id`'s messages reads. A read that counts afresh (a `status` filter, an
    admin's) takes no count from the batch: the key fetched for it goes unused."""
    return [count_entry_key(account_id, normalized_list_query(request.path, request.query_params))]


class MessagePagesMixin(generics.GenericAPIView):
    """Lists answer pages of plain message rows (`MessagePagination`), counted from the cache for one account."""

    pagination_class = MessagePagination

    def message_page(self, queryset: QuerySet[Message]) -> Response:
        rows: list[Any] = self.paginate_queryset(queryset) or []  # MESSAGE_COLUMNS dicts (MessagePagination)
        return self.get_paginated_response(message_read_data(rows))


@extend_schema_view(
    list=extend_schema(
        summary="List messages",
        parameters=CONDITIONAL_READ,
        responses={200: MessageSerializer(many=True), 304: NOT_MODIFIED},
    ),
    retrieve=extend_schema(
        summary="Get a message",
        parameters=CONDITIONAL_READ,
        responses={200: MessageSerializer, 304: NOT_MODIFIED, 404: _not_found},
    ),
)
@method_decorator(conditional_get, name="dispatch")
class MessageViewSet(
    BatchedAuthenticationReadsMixin,
    ValidatedInputMixin,
    MessagePagesMixin,
    mixins.CreateModelMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):
    """SMS-like messages, accepted at once and delivered in the background.

    A caller sees only their own account's messages (an admin sees every account's); another account's message is
    a 404 on every path. Lists are newest first.
    """

    serializer_class = MessageSerializer
    filterset_class = MessageListFilter
    lookup_field = "message_id"
    lookup_value_regex = f"[0-9a-z]{{{KEY_LENGTH}}}"

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return message_list_for_account(user=request_user(self.request))

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        if self.action == "create":
            return MessageCreateSerializer
        return MessageSerializer

    @extend_schema(
        summary="Send a message",
        request=MessageCreateSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description=(
                    f"At most {IDEMPOTENCY_KEY_MAX_LENGTH} characters, kept per caller. A retry with the same key and "
                    "body answers the first answer again (201, same message_id, as first accepted) and creates "
                    "nothing; the same key with another body is a 409. A key is kept for IDEMPOTENCY_KEY_TTL_HOURS "
                    "(24 hours by default): a request after that with the same key creates a new message."
                ),
            ),
            OpenApiParameter(
                REPLAYED_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                response=[201],
                description="`true` when the answer is the replay of an earlier request with the same Idempotency-Key.",
            ),
            OpenApiParameter(
                "Location",
                OpenApiTypes.URI_REF,
                OpenApiParameter.HEADER,
                response=[201],
                description="The message (a path on this host).",
            ),
        ],
        responses={
            201: MessageSerializer,
            400: OpenApiResponse(
                ERROR,
                description="Validation error: each field name maps to a list of messages (a `send_at` less than 60 "
                "seconds or more than 35 days ahead, a `validity_period` outside 60 to 36000); or `too_many_segments`: "
                "the body takes more SMS segments than MESSAGE_MAX_SEGMENTS (10); or `reply_mismatch`: a reply names a "
                "`sender_number` or `receiver_number` other than its inbound message's.",
            ),
            403: OpenApiResponse(
                ERROR,
                description="A non-admin named another account's `account_id`, the caller's email is not verified "
                "(`email_not_verified`), the account does not own `sender_number` (`sender_not_allowed`), or the "
                "recipient opted out of the sender or of the account (`recipient_opted_out`; "
                "`GET /accounts/me/opt-outs/`).",
            ),
            404: OpenApiResponse(
                ERROR,
                description="`inbound_message_not_found`: `in_reply_to` names no inbound message of the account.",
            ),
            409: OpenApiResponse(ERROR, description="The Idempotency-Key was used with another body."),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Accept a message for delivery: 201 with `status` `queued`; it is sent in the background. With `send_at`,
        201 with `status` `scheduled`: it is sent within seconds of that time, unless canceled first.

        Numbers are E.164 (`+` and 8 to 15 digits; spaces, dashes, dots and brackets are stripped first);
        `sender_number` may also be an alphanumeric sender ID (1 to 11 letters, digits and spaces, at least one
        letter; one-way), and must be one the account owns (`GET /accounts/me/numbers/`); a recipient who opted
        out of it or of the whole account (`GET /accounts/me/opt-outs/`) is a 403 `recipient_opted_out`; `body` is
        1 to 1600 characters. `account_id` defaults to the caller's; naming another account is for admins only.
        A reply names `in_reply_to`, the `message_id` of an inbound message of the account, and may leave both
        numbers out: it goes from the number the inbound message was written to, to the number that wrote it.
        `message_id`, `status` and other fields in the body are ignored.
        """
        idempotency_key = _idempotency_key(request)
        data = self.get_valid_data(request)
        result = message_create(
            actor=request_user(request),
            account_id=self._target_account(data.get("account_id")),
            sender_number=data.get("sender_number"),
            receiver_number=data.get("receiver_number"),
            body=data["body"],
            in_reply_to=data.get("in_reply_to", ""),
            idempotency_key=idempotency_key,
            status_callback=data.get("status_callback", ""),
            send_at=data.get("send_at"),
            validity_period=data.get("validity_period"),
            redact_body_after_send=data.get("redact_body_after_send", False),
        )
        headers = {"Location": reverse("message-detail", kwargs={"message_id": result.message.message_id})}
        if result.replayed:
            headers[REPLAYED_HEADER] = "true"
        return Response(message_data(result.message), status=status.HTTP_201_CREATED, headers=headers)

    def _target_account(self, requested: UUID | None) -> UUID:
        user = request_user(self.request)
        if requested is None or requested == user.account_id:
            return user.account_id
        if not is_admin(user):
            raise PermissionDenied("Only an admin may send messages for another account.")
        if not account_exists(account_id=requested):
            raise ValidationError({"account_id": ["No account has this id."]})
        return requested

    def count_account(self) -> UUID | None:
        """Whose cached message count a list or search page may use: the caller's own account, unless the caller
        is an admin (reads across accounts) or filters on `status` (which deliveries change)."""
        user = request_user(self.request)
        if is_admin(user) or self.request.query_params.get("status"):
            return None
        return user.account_id

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The caller's messages, newest first. An admin sees every account's and may narrow them with
        `?account_id=`."""
        return self.message_page(self.filter_queryset(self.get_queryset()))

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One message by its `message_id`; 404 when it does not exist or belongs to another account."""
        return Response(message_data(self.get_object()))

    @extend_schema(
        summary="Cancel a message",
        request=None,
        responses={
            200: MessageSerializer,
            404: _not_found,
            409: OpenApiResponse(
                ERROR,
                description="`message_not_cancelable`: the message was already handed to the gateway (or expired).",
            ),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, message_id: str | None = None) -> Response:
        """Cancel a message that is still `scheduled`, or `queued` and never attempted: 200 with it, `canceled`
        (its status callback follows). Canceling a canceled message answers it again; one already handed to the
        gateway is a 409 `message_not_cancelable`."""
        message = message_cancel(message_pk=self.get_object().pk, by=request_user(request))
        return Response(message_data(message))

    @extend_schema(
        summary="Search messages",
        parameters=[*SEARCH_PARAMETERS, *CONDITIONAL_READ],
        responses={
            200: MessageSerializer(many=True),
            304: NOT_MODIFIED,
            400: OpenApiResponse(
                ERROR, description="A sender or number the create would refuse, or a malformed date or count."
            ),
        },
    )
    @action(detail=False, methods=["get"], filter_backends=[])
    def search(self, request: Request) -> Response:
        """The caller's messages (an admin: every account's) matching every given parameter, newest first.

        `message_id`, `sender_number` and `receiver_number` each take a comma-separated list and match any of its
        values; `sender_number` takes E.164 numbers and alphanumeric sender IDs (`MyShop`). A sender or number the
        create would refuse, or a malformed date, is a 400 naming the parameter. With no parameter at all, this
        lists the caller's messages.
        """
        queryset = message_search(user=request_user(request), params=request.query_params)
        return self.message_page(queryset)


@extend_schema(
    tags=["messages"],
    summary="List an account's messages",
    parameters=[OpenApiParameter("account_id", OpenApiTypes.UUID, OpenApiParameter.PATH), *CONDITIONAL_READ],
    responses={
        200: MessageSerializer(many=True),
        304: NOT_MODIFIED,
        404: OpenApiResponse(ERROR, description="Another account's."),
    },
)
@method_decorator(conditional_get, name="dispatch")
class AccountMessageListView(BatchedAuthenticationReadsMixin, MessagePagesMixin, generics.ListAPIView):
    """One account's messages, newest first: the caller's own, or any account's for an admin (an account with no
    messages is an empty page). Another account, or an id that is not a UUID, is a 404."""

    serializer_class = MessageSerializer
    filter_backends: list[type] = []

    def get_queryset(self) -> QuerySet[Message]:
        if getattr(self, "swagger_fake_view", False):
            return Message.objects.none()
        return message_list_for_account(user=request_user(self.request), account_id=self._account_id())

    def batched_cache_keys(self, request: Request, user_pk: int) -> list[str]:
        try:
            account_id = UUID(self.kwargs["account_id"])
        except (KeyError, ValueError):
            return []
        return _count_keys(request, account_id)  # of an account the caller may not see: fetched, never read

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.message_page(self.get_queryset())

    def count_account(self) -> UUID:
        """Every row of the page is this account's."""
        return self._account_id()

    def _account_id(self) -> UUID:
        try:
            account_id = UUID(self.kwargs["account_id"])
        except ValueError:
            raise NotFound() from None
        if not account_is_visible(user=request_user(self.request), account_id=account_id):
            raise NotFound()
        return account_id
