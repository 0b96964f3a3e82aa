"""The caller's account's opt-outs (`/accounts/me/opt-outs/`) and its answers to keywords
(`/accounts/me/messaging/`)."""

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.schema import ERROR
from apps.users.request_user import request_user

from ..encoding import segmentation
from ..filters import OptOutFilter
from ..models import MessagingSettings, OptOut
from ..phone import InvalidPhoneNumber, normalize_phone
from ..selectors import account_messaging_settings, opt_out_list_for_account
from ..sender_rule import InvalidSender, normalize_sender
from .services import messaging_settings_update, messaging_texts, opt_out_add, opt_out_remove


class OptOutSerializer(serializers.ModelSerializer):
    sender_number = serializers.CharField(
        allow_null=True,
        read_only=True,
        help_text="The account's number the recipient opted out of; null: every number of the account.",
    )

    class Meta:
        model = OptOut
        fields = ["id", "recipient_number", "sender_number", "source", "created_at"]
        read_only_fields = fields
        extra_kwargs = {
            "source": {
                "help_text": "`keyword`: the recipient texted STOP (or a synonym) or STOPALL; `api`: added here; "
                "`admin`: by an admin."
            }
        }


class OptOutInput(serializers.Serializer):
    recipient_number = serializers.CharField(max_length=64, help_text="E.164; spaces, dashes and brackets ignored.")
    sender_number = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="One of the account's numbers or sender IDs (`/accounts/me/numbers/`); absent or null: every one.",
    )

    def validate_recipient_number(self, value: str) -> str:
        try:
            return normalize_phone(value)
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError(str(exc)) from exc

    def validate_sender_number(self, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_sender(value)[0]
        except InvalidSender as exc:
            raise serializers.ValidationError(str(exc)) from exc


@extend_schema_view(
    list=extend_schema(summary="List the account's opt-outs"),
    destroy=extend_schema(
        summary="Take an opt-out back",
        responses={
            204: None,
            404: OpenApiResponse(ERROR, description="No such opt-out, or another account's."),
            409: OpenApiResponse(
                ERROR,
                description="`opt_out_by_recipient`: the recipient texted STOP; only their START takes it back.",
            ),
        },
    ),
)
@extend_schema(tags=["messages"])
class OptOutViewSet(
    ValidatedInputMixin,
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Recipients who asked not to get the caller's account's messages, newest first.

    A recipient opts out by texting one of the account's numbers a keyword (the whole message, any case): `STOP`,
    `UNSUBSCRIBE`, `CANCEL`, `END` or `QUIT` opt them out of that number, `STOPALL` out of every number of the
    account; `START`, `UNSTOP` or `YES` take back both. A create (`POST /messages/`) to an opted-out recipient is a
    403 `recipient_opted_out`; a message accepted before the opt-out ends `failed` with that `error_code`, unsent.
    """

    serializer_class = OptOutSerializer
    filterset_class = OptOutFilter
    lookup_value_regex = r"\d+"

    def get_queryset(self) -> QuerySet[OptOut]:
        if getattr(self, "swagger_fake_view", False):
            return OptOut.objects.none()
        return opt_out_list_for_account(account_id=request_user(self.request).account_id)

    def get_serializer_class(self) -> type[serializers.BaseSerializer]:
        return OptOutInput if self.action == "create" else OptOutSerializer

    @extend_schema(
        summary="Opt a recipient out",
        request=OptOutInput,
        responses={
            200: OptOutSerializer,
            201: OptOutSerializer,
            403: OpenApiResponse(
                ERROR, description="`sender_not_allowed`: `sender_number` is not one of the account's."
            ),
        },
    )
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Opt `recipient_number` out of the account's messages from `sender_number`, or from all of them without
        one: 201 with the opt-out; 200 with the existing one when the recipient had already opted out of the same
        scope (by a keyword, here or by an admin), which changes nothing."""
        data = self.get_valid_data(request)
        user = request_user(request)
        added = opt_out_add(
            account_id=user.account_id,
            recipient_number=data["recipient_number"],
            sender_number=data.get("sender_number"),
            source=OptOut.Source.API,
            by=user,
        )
        answer = status.HTTP_201_CREATED if added.created else status.HTTP_200_OK
        return Response(OptOutSerializer(added.opt_out).data, status=answer)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Take the opt-out back: the recipient can be sent to again from its scope. 404 for another account's;
        409 `opt_out_by_recipient` for one the recipient made by texting STOP (only their START takes it back)."""
        opt_out_remove(opt_out=self.get_object(), source=OptOut.Source.API, by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MessagingSettingsSerializer(serializers.ModelSerializer):
    class Meta:
        model = MessagingSettings
        fields = ["help_text", "stop_confirmation_text"]
        extra_kwargs = {
            "help_text": {
                "required": True,
                "help_text": 'The answer to `HELP` or `INFO`; "" restores the service\'s default.',
            },
            "stop_confirmation_text": {
                "required": True,
                "help_text": 'The answer to a `STOP` (or a synonym, or `STOPALL`) that opts the recipient out; "" '
                "restores the service's default.",
            },
        }

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        limit = settings.MESSAGE_MAX_SEGMENTS
        for field, text in attrs.items():
            segments = segmentation(text).segments
            if segments > limit:
                raise serializers.ValidationError(
                    {field: [f"The text takes {segments} SMS segments; the limit is {limit} (MESSAGE_MAX_SEGMENTS)."]}
                )
        return attrs


class MessagingSettingsView(ValidatedInputMixin, APIView):
    """The caller's account's answers to keywords its recipients text to its numbers: `HELP` (or `INFO`) is
    answered with `help_text`, and a `STOP` that opts a recipient out with `stop_confirmation_text`. Each answer is
    an ordinary message of the account, from the number texted, in its message list. Until the account sets one,
    a text is the service's default."""

    serializer_class = MessagingSettingsSerializer

    @extend_schema(tags=["messages"], summary="Get the account's keyword answers")
    def get(self, request: Request) -> Response:
        """The texts in force (the account's own, else the service's defaults)."""
        current = account_messaging_settings(account_id=request_user(request).account_id)
        return Response(messaging_texts(account_settings=current))

    @extend_schema(tags=["messages"], summary="Set the account's keyword answers")
    def patch(self, request: Request) -> Response:
        """Set either text or both; "" restores the service's default. A text longer than the message body limit
        (1600 characters) or than MESSAGE_MAX_SEGMENTS SMS segments is a 400. Answers the texts in force."""
        user = request_user(request)
        data = self.get_valid_data(request, partial=True)
        current = messaging_settings_update(account_id=user.account_id, texts=data, by=user)
        return Response(messaging_texts(account_settings=current))
