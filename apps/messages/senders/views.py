"""The caller's account's numbers and sender IDs: GET /api/v1/accounts/me/numbers/."""

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers

from apps.users.request_user import request_user

from ..models import SenderNumber
from ..selectors import sender_number_list_for_account


class SenderNumberSerializer(serializers.ModelSerializer):
    kind = serializers.ChoiceField(
        choices=SenderNumber.Kind.choices,
        help_text="`phone`: an E.164 number; `alphanumeric`: a sender ID, one-way (receivers cannot answer it).",
    )
    rate_per_second = serializers.FloatField(
        allow_null=True,
        help_text="SMS segments per second sent from it (the gateway's limit for this sender; a message takes one "
        "per segment); null: the service's default pace.",
    )

    class Meta:
        model = SenderNumber
        fields = ["value", "kind", "rate_per_second", "created_at"]
        read_only_fields = fields


@extend_schema(tags=["messages"], summary="List the account's numbers and sender IDs")
class SenderNumberListView(generics.ListAPIView):
    """The phone numbers and alphanumeric sender IDs the caller's account owns, oldest first: the senders its
    messages may use (a `sender_number` not among them is a 403 `sender_not_allowed` where the service requires
    it). An admin adds and changes them."""

    serializer_class = SenderNumberSerializer

    def get_queryset(self) -> QuerySet[SenderNumber]:
        if getattr(self, "swagger_fake_view", False):
            return SenderNumber.objects.none()
        return sender_number_list_for_account(account_id=request_user(self.request).account_id)
