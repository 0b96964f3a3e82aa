"""seed_demo fills every app with demo data of the sizes asked, and `--reuse` leaves existing data alone."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.messages.models import Message
from apps.products.models import Category, Product

SIZES = {"categories": 3, "products": 30, "users": 4, "messages": 90, "heavy_accounts": 1, "heavy_messages": 50}


@pytest.mark.django_db(transaction=True)  # PostgreSQL's VACUUM after the COPY cannot run inside a transaction
def test_seed_demo_makes_the_sizes_asked_and_reuses_them() -> None:
    call_command("seed_demo", **SIZES)

    assert Category.objects.count() == 3
    assert Product.objects.count() == 30
    assert get_user_model().objects.filter(email__startswith="demo-user-").count() == 4
    assert get_user_model().objects.get(email="admin@example.com").role == "admin"
    assert Message.objects.count() == 90
    from django.db.models import Count

    per_account = Message.objects.values("account_id").order_by().annotate(n=Count("id"))
    assert sorted(row["n"] for row in per_account)[-1] == 50  # the heavy account
    assert len(per_account) >= 2
    assert len({m.message_id for m in Message.objects.all()}) == 90

    call_command("seed_demo", **SIZES, reuse=True)

    assert Product.objects.count() == 30
    assert Message.objects.count() == 90


@pytest.mark.django_db(transaction=True)
def test_demo_users_can_sign_in(api_client) -> None:
    from apps.users.seed import DEMO_PASSWORD

    call_command("seed_demo", **SIZES)

    response = api_client.post("/api/v1/auth/login/", {"email": "demo-user-0@example.com", "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert set(response.json()) == {"access", "refresh"}


@pytest.mark.django_db(transaction=True)
def test_the_closing_line_claims_only_the_passwords_it_set(capsys) -> None:
    from apps.users.seed import DEMO_PASSWORD

    get_user_model().objects.create_superuser(email="admin@example.com", password="the-admins-own-password-7")
    call_command("seed_demo", **SIZES)
    first = capsys.readouterr().out
    assert "admin@example.com" not in first
    assert f"sign in as demo-user-0@example.com or demo-user-1@example.com with password {DEMO_PASSWORD!r}" in first

    call_command("seed_demo", **SIZES)
    again = capsys.readouterr().out
    assert DEMO_PASSWORD not in again
    assert "no account made: existing accounts keep their passwords" in again


def test_help_shows_the_defaults(capsys) -> None:
    with pytest.raises(SystemExit):
        call_command("seed_demo", "--help")
    text = " ".join(capsys.readouterr().out.split())
    for option, default in [("--users", 10), ("--products", 100), ("--messages", 500), ("--seed", 42)]:
        assert re.search(rf"{option} \S+ .*?\(default: {default}\)", text), option
