"""The permission classes every app uses. Roles live on the user: `user` (default) and `admin`."""

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView


def is_admin(user: Any) -> bool:
    return bool(user and user.is_authenticated and getattr(user, "role", None) == "admin")


class IsAdminRole(BasePermission):
    """Only an authenticated user whose role is `admin`."""

    message = "Only an admin may do this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_admin(request.user)


class IsAdminOrReadOnly(BasePermission):
    """Any authenticated user may read; only an admin may write."""

    message = "Only an admin may change this."

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        return request.method in SAFE_METHODS or is_admin(request.user)


class IsOwnerOrAdmin(BasePermission):
    """Object-level: the object's `account_id` (or the view's `owner_field`) is the caller's, or an admin."""

    def has_object_permission(self, request: Request, view: APIView, obj: Any) -> bool:
        if is_admin(request.user):
            return True
        field = getattr(view, "owner_field", "account_id")
        return getattr(obj, field, None) == getattr(request.user, field, object())
