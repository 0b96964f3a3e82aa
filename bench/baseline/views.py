from django.http import HttpRequest, JsonResponse
from rest_framework import serializers, viewsets

from .models import Product


def bare(request: HttpRequest) -> JsonResponse:
    """The yardstick: Django's request cycle and a JSON body, nothing else."""
    return JsonResponse({"status": "ok"})


class ProductSerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ("id", "sku", "name", "description", "category_id", "price", "currency", "stock", "is_available",
                  "created_at", "updated_at")  # fmt: skip


class ProductViewSet(viewsets.ReadOnlyModelViewSet):
    """A stock DRF list: ModelSerializer, PageNumberPagination (page of 20 and a count), the table's live rows."""

    queryset = Product.objects.filter(deleted_at__isnull=True).order_by("-created_at", "-id")
    serializer_class = ProductSerializer
