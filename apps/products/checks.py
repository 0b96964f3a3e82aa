from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from .models import CURRENCY_CODES


@register()
def default_currency_is_known(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A DEFAULT_CURRENCY outside the catalog's list would make every product created without one a 400/500."""
    if settings.DEFAULT_CURRENCY in CURRENCY_CODES:
        return []
    return [
        Error(
            f"DEFAULT_CURRENCY={settings.DEFAULT_CURRENCY!r} is not one of the catalog's ISO 4217 codes.",
            hint="Set DEFAULT_CURRENCY to a code listed in apps.products.models.CURRENCY_CODES.",
            id="products.E001",
        )
    ]
