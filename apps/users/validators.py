from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError

from .models import User


def password_problems(password: str, user: User | None) -> list[str]:
    """The messages of Django's AUTH_PASSWORD_VALIDATORS for `password` (empty when it is accepted)."""
    try:
        password_validation.validate_password(password, user=user)
    except ValidationError as exc:
        return list(exc.messages)
    return []
