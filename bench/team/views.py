from typing import Any

from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.cache import cache_page
from django.views.decorators.vary import vary_on_headers
from django_filters import rest_framework as filters
from rest_framework import mixins, serializers, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from .models import Category, Message, Product
from .tasks import deliver_message


class ProductSerializer(serializers.ModelSerializer):
    category: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Product
        fields = ("id", "sku", "name", "description", "category", "price", "currency", "stock", "is_available",
                  "created_at", "updated_at")  # fmt: skip


class ProductFilter(filters.FilterSet):
    min_price = filters.NumberFilter(field_name="price", lookup_expr="gte")
    max_price = filters.NumberFilter(field_name="price", lookup_expr="lte")

    class Meta:
        model = Product
        fields = ("is_available",)


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """The list as DRF's docs cache it: per user (the Authorization header), after authentication and throttling."""

    queryset = Product.objects.filter(deleted_at__isnull=True).select_related("category").order_by("-created_at",
                                                                                                     "-id")  # fmt: skip
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    ordering_fields = ("name", "price", "created_at")

    @method_decorator(cache_page(60))
    @method_decorator(vary_on_headers("Authorization"))
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)


class MessageSerializer(serializers.ModelSerializer):
    class Meta:
        model = Message
        fields = ("message_id", "sender_number", "receiver_number", "body", "status", "created_at")
        read_only_fields = ("message_id", "status", "created_at")


class MessageViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
    serializer_class = MessageSerializer

    def get_queryset(self) -> Any:
        return Message.objects.filter(account_id=self.request.user.account_id)  # type: ignore[union-attr]

    def perform_create(self, serializer: Any) -> None:
        message = serializer.save(account_id=self.request.user.account_id)  # type: ignore[union-attr]
        transaction.on_commit(lambda: deliver_message.delay(message.pk))
