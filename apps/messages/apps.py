from django.apps import AppConfig


class MessagingConfig(AppConfig):
    # `messages` is django.contrib.messages' label, which the admin needs.
    name = "apps.messages"
    label = "messaging"
    verbose_name = "Messages"

    def ready(self) -> None:
        from apps.core.observability.metrics import register_collector

        from . import pagination  # noqa: F401 - connects the signals that keep cached counts fresh
        from .metrics import QueuedMessagesCollector

        register_collector(QueuedMessagesCollector())
