"""The admin app with the second-factor site as its default `admin.site`, so every `@admin.register` lands on it."""

from django.contrib.admin.apps import AdminConfig


class MfaAdminConfig(AdminConfig):
    default_site = "apps.users.mfa.admin_site.MfaAdminSite"
