"""What the messages app does when the users app signals a change to an account (connected in apps.py)."""

from typing import Any

from django.dispatch import receiver

from apps.users.signals import account_claimed

from .services import callback_settings_clear_on_claim


@receiver(account_claimed, dispatch_uid="messages.callbacks.clear_on_claim")
def clear_callbacks_on_claim(sender: Any, user: Any, **kwargs: Any) -> None:
    callback_settings_clear_on_claim(account_id=user.account_id, by=user)
