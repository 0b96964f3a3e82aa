"""Numbers an account owns: admin-managed (audited), listed at /accounts/me/numbers/, the senders its messages may
use unless MESSAGES_ALLOW_ANY_SENDER; alphanumeric sender IDs."""

import pytest
from django.test import Client

from apps.core.models import AuditEvent
from apps.messages.models import Message, SenderNumber
from apps.messages.selectors import account_owning_number

from .helpers import MESSAGES_URL

NUMBERS_URL = "/api/v1/accounts/me/numbers/"
ADD_URL = "/admin/messaging/sendernumber/add/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def _own(user, value: str, kind: str = "phone", rate: float | None = None) -> SenderNumber:
    return SenderNumber.objects.create(account_id=user.account_id, value=value, kind=kind, rate_per_second=rate)


def test_the_account_lists_its_own_numbers_oldest_first(user_client, user, other_user) -> None:
    first = _own(user, "+15551230001", rate=1.0)
    second = _own(user, "ACME", kind="alphanumeric")
    _own(other_user, "+15551230002")

    response = user_client.get(NUMBERS_URL)

    assert response.status_code == 200
    assert response.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [
            {
                "value": "+15551230001",
                "kind": "phone",
                "rate_per_second": 1.0,
                "created_at": first.created_at.isoformat().replace("+00:00", "Z"),
            },
            {
                "value": "ACME",
                "kind": "alphanumeric",
                "rate_per_second": None,
                "created_at": second.created_at.isoformat().replace("+00:00", "Z"),
            },
        ],
    }


def test_the_numbers_need_a_signed_in_caller(api_client) -> None:
    response = api_client.get(NUMBERS_URL)

    assert response.status_code == 401


def test_the_owning_account_of_a_number(user) -> None:
    _own(user, "+15551230001")

    assert account_owning_number("+15551230001") == user.account_id
    assert account_owning_number("+15551230009") is None


@pytest.mark.parametrize("sender", ["ACME", "Acme 24", "A", "Shop 123456"])
def test_an_alphanumeric_sender_is_accepted_as_sent(user_client, payload, sender) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "sender_number": sender}, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["sender_number"] == sender
    assert Message.objects.get().sender_number == sender


@pytest.mark.parametrize("sender", ["123456", "Shop 1234567", "ACME!", "", "Åsa"])
def test_a_sender_neither_e164_nor_alphanumeric_is_400(user_client, payload, sender) -> None:
    response = user_client.post(MESSAGES_URL, {**payload, "sender_number": sender}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["sender_number"]
    assert not Message.objects.exists()


def test_with_senders_restricted_an_owned_number_sends(user_client, user, payload, settings) -> None:
    settings.MESSAGES_ALLOW_ANY_SENDER = False
    _own(user, "+15551230001")

    response = user_client.post(MESSAGES_URL, {**payload, "sender_number": "+1 555 123 0001"}, format="json")

    assert response.status_code == 201


def test_with_senders_restricted_a_number_not_owned_is_403_and_writes_nothing(
    user_client, user, other_user, payload, settings
) -> None:
    settings.MESSAGES_ALLOW_ANY_SENDER = False
    _own(other_user, "+15551230001")  # another account's

    response = user_client.post(MESSAGES_URL, {**payload, "sender_number": "+15551230001"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "sender_not_allowed"
    assert not Message.objects.exists()


def test_the_admin_adds_a_number_normalised_with_its_kind_and_audited(staff_client, user, admin_user) -> None:
    response = staff_client.post(
        ADD_URL, {"account_id": str(user.account_id), "value": "+1 (555) 123-0001", "rate_per_second": "2"}
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    number = SenderNumber.objects.get()
    assert (number.account_id, number.value, number.kind, number.rate_per_second) == (
        user.account_id,
        "+15551230001",
        "phone",
        2.0,
    )
    event = AuditEvent.objects.get(action="sender_number.created")
    assert (event.actor_id, event.object_id) == (admin_user.pk, str(number.pk))


def test_the_admin_changes_a_number_through_the_service(staff_client, user, other_user) -> None:
    number = _own(user, "+15551230001")

    response = staff_client.post(
        f"/admin/messaging/sendernumber/{number.pk}/change/",
        {"account_id": str(other_user.account_id), "value": "ACME", "rate_per_second": ""},
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    number.refresh_from_db()
    assert (number.account_id, number.value, number.kind) == (other_user.account_id, "ACME", "alphanumeric")
    changes = AuditEvent.objects.get(action="sender_number.changed").changes
    assert changes["value"] == ["+15551230001", "ACME"]
    assert changes["account_id"] == [str(user.account_id), str(other_user.account_id)]


def test_the_admin_refuses_a_number_another_account_owns(staff_client, user, other_user) -> None:
    _own(other_user, "+15551230001")

    response = staff_client.post(ADD_URL, {"account_id": str(user.account_id), "value": "+15551230001"})

    assert response.status_code == 200  # the form again, with the error
    assert SenderNumber.objects.count() == 1
    assert not AuditEvent.objects.filter(action="sender_number.created").exists()


def test_the_admin_deletes_a_number_audited(staff_client, user) -> None:
    number = _own(user, "+15551230001")

    response = staff_client.post(f"/admin/messaging/sendernumber/{number.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not SenderNumber.objects.exists()
    assert AuditEvent.objects.filter(action="sender_number.deleted").exists()


def test_a_plain_user_cannot_manage_numbers(user) -> None:
    client = Client()
    client.force_login(user)

    response = client.post(ADD_URL, {"account_id": str(user.account_id), "value": "+15551230001"})

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not SenderNumber.objects.exists()


@pytest.mark.django_db(transaction=True)  # the seed's COPY and VACUUM on PostgreSQL
def test_the_demo_accounts_own_numbers_they_can_send_from(auth_client, settings) -> None:
    from django.core.management import call_command

    from apps.users.seed import demo_users

    call_command("seed_demo", users=2, messages=0, heavy_accounts=0, products=0, categories=0)
    call_command("seed_demo", users=2, messages=0, heavy_accounts=0, products=0, categories=0, reuse=True)

    first, second = demo_users(2)
    assert sorted(SenderNumber.objects.values_list("value", "kind", "account_id")) == [
        ("+15550000001", "phone", first.account_id),
        ("+15550000002", "phone", second.account_id),
        ("DEMO1", "alphanumeric", first.account_id),
        ("DEMO2", "alphanumeric", second.account_id),
    ]
    settings.MESSAGES_ALLOW_ANY_SENDER = False
    body = {"sender_number": "DEMO1", "receiver_number": "+442079460958", "body": "hi"}
    assert auth_client(first).post(MESSAGES_URL, body, format="json").status_code == 201
    assert auth_client(second).post(MESSAGES_URL, body, format="json").status_code == 403
