"""What every API view shares on its way from a request to a service."""

from typing import Any

from rest_framework.generics import GenericAPIView
from rest_framework.request import Request


class ValidatedInputMixin(GenericAPIView):
    """The one way a view validates its input before calling a service (HackSoft's `serializer.is_valid` step)."""

    def get_valid_data(self, request: Request, *, instance: Any = None, partial: bool = False) -> dict[str, Any]:
        """The request body through the view's serializer; an invalid body is a 400 naming each field at fault.

        `instance` and `partial` are for a PATCH that validates against the row it changes.
        """
        serializer = self.get_serializer(instance, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
