"""User management for admins: list, read, change and deactivate any user."""

from typing import Any

from django.db.models import QuerySet
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer

from apps.core.http.api import ValidatedInputMixin
from apps.core.http.filtering import NamedSearchFilter
from apps.core.http.permissions import IsAdminRole
from apps.core.http.schema import ERROR

from .. import selectors
from ..api import NO_CONTENT, NOT_FOUND
from ..filters import UserFilter
from ..models import User
from ..request_user import request_user
from ..serializers import UserAdminUpdateSerializer, UserSerializer
from . import services


@extend_schema_view(
    list=extend_schema(responses={200: UserSerializer(many=True)}),
    retrieve=extend_schema(responses={200: UserSerializer, 404: NOT_FOUND}),
    partial_update=extend_schema(
        request=UserAdminUpdateSerializer,
        responses={
            200: UserSerializer,
            404: NOT_FOUND,
        },
    ),
    destroy=extend_schema(
        responses={
            204: NO_CONTENT,
            400: OpenApiResponse(ERROR, description="An admin may not deactivate themselves (`is_active`)."),
            404: NOT_FOUND,
        }
    ),
)
class UserViewSet(ValidatedInputMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """User management, for admins only."""

    serializer_class = UserSerializer
    permission_classes = [IsAuthenticated, IsAdminRole]
    filter_backends = [DjangoFilterBackend, NamedSearchFilter]
    filterset_class = UserFilter
    search_fields = ["email", "full_name"]
    lookup_value_regex = r"\d+"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[User]:
        return selectors.user_list()

    def get_serializer_class(self) -> type[Serializer]:
        if self.action == "partial_update":
            return UserAdminUpdateSerializer
        return UserSerializer

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Every user, active or not, oldest first. `search` matches email and name; `role`, `is_active` and
        `is_verified` filter."""
        return super().list(request, *args, **kwargs)

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """One user, active or not."""
        return super().retrieve(request, *args, **kwargs)

    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Change a user's `full_name`, `role` or `is_active`; other fields in the body are ignored.

        A role change and a (de)activation are audited and published as events. An admin cannot change their own
        role or deactivate themselves, and a superuser is always an admin (400 on `role` or `is_active`).
        """
        target = self.get_object()
        user = services.user_update(user=target, by=request_user(request), **self.get_valid_data(request))
        return Response(UserSerializer(user).data)

    def destroy(self, request: Request, pk: str | None = None) -> Response:
        """Deactivate a user; the row stays. Their access tokens stop working at once and their refresh tokens
        are blacklisted. Deactivating an inactive user again is a 204 too; deactivating yourself is a 400 on
        `is_active`, as a PATCH of `is_active` to false is."""
        services.user_deactivate(user=self.get_object(), by=request_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)
