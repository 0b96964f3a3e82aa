"""The user model and its manager: email identity, roles, and `createsuperuser`."""

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from apps.users.models import User

from .factories import UserFactory

pytestmark = pytest.mark.django_db


def test_emails_are_unique_whatever_their_case_in_the_database_itself() -> None:
    UserFactory(email="ada@example.com")
    # bulk_create skips save() and its normalisation: only the Lower(email) constraint stands in the way.
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.bulk_create([User(email="Ada@Example.COM")])
    assert User.objects.count() == 1


def test_emails_are_stored_trimmed_and_lowercase() -> None:
    user = User.objects.create_user(" Ada@Example.COM ", "analytical-engine-1843")
    assert user.email == "ada@example.com"
    assert User.objects.get_by_natural_key("ADA@example.com") == user


def test_create_user_needs_an_email() -> None:
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", "password-123-abc")


def test_a_new_user_is_a_plain_unverified_user_with_an_account() -> None:
    user = User.objects.create_user("new@example.com", "password-123-abc")
    assert (user.role, user.is_verified, user.is_active, user.is_staff, user.is_superuser) == (
        "user",
        False,
        True,
        False,
        False,
    )
    assert user.account_id is not None
    assert user.account_id != User.objects.create_user("two@example.com", "x").account_id


def test_staff_status_follows_the_role() -> None:
    user = UserFactory()
    user.role = User.Role.ADMIN
    user.save(update_fields=["role"])
    user.refresh_from_db()
    assert user.is_staff is True
    user.role = User.Role.USER
    user.save(update_fields=["role"])
    user.refresh_from_db()
    assert user.is_staff is False


def test_the_role_is_checked_by_the_database() -> None:
    user = UserFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.filter(pk=user.pk).update(role="root")


def test_an_active_admin_holds_every_permission_and_a_user_none() -> None:
    admin, plain = UserFactory(role="admin"), UserFactory()
    assert admin.has_perm("users.change_user")
    assert admin.has_module_perms("users")
    assert not plain.has_perm("users.change_user")
    assert not plain.has_module_perms("users")
    admin.is_active = False
    assert not admin.has_perm("users.change_user")


def test_createsuperuser_noinput_reads_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "Root@Example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-root-password-1")

    call_command("createsuperuser", interactive=False, verbosity=0)

    root = User.objects.get()
    assert root.email == "root@example.com"
    assert (root.role, root.is_superuser, root.is_staff, root.is_verified, root.is_active) == (
        "admin",
        True,
        True,
        True,
        True,
    )
    assert root.check_password("a-long-root-password-1")


def test_createsuperuser_refuses_a_taken_email_in_another_case(monkeypatch) -> None:
    from django.core.management.base import CommandError

    UserFactory(email="root@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_EMAIL", "ROOT@example.com")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-root-password-1")
    with pytest.raises(CommandError, match="already taken"):
        call_command("createsuperuser", interactive=False, verbosity=0)
