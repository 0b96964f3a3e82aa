from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "apps.users"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        # Connect their signals: cached users dropped on save, sign-in failures counted.
        from . import authentication, login_guard  # noqa: F401
