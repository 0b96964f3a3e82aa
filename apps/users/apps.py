from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        # Connect its signals: cached users dropped on save.
        from . import authentication  # noqa: F401
