from django.apps import AppConfig


class MessagingConfig(AppConfig):
    # `messages` is django.contrib.messages' label, which the admin needs.
    name = "apps.messages"
    label = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        from apps.core.observability.metrics import register_collector

        from .callbacks import (
            receivers,  # noqa: F401 - clears a claimed account's callback settings
            transport,  # noqa: F401 - registers its deploy check
        )
        from .metrics import QueuedMessagesCollector

        register_collector(QueuedMessagesCollector())
