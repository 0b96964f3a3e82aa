import django_filters

from .models import User


class UserFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=User.Role.choices, help_text="Only users with this role.")
    is_active = django_filters.BooleanFilter(help_text="`true`: active users only; `false`: deactivated ones.")
    is_verified = django_filters.BooleanFilter(help_text="`true`: users who confirmed their email.")

    class Meta:
        model = User
        fields = ("role", "is_active", "is_verified")
