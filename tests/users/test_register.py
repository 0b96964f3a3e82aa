import pytest
from django.core import mail

from apps.core.models import AuditEvent, OutboxEvent
from apps.users.models import User

from .conftest import emails_to, link_params
from .factories import UserFactory

URL = "/api/v1/auth/register/"
GOOD = {"email": "grace@example.com", "password": "cobol-compiler-1959", "full_name": "Grace Hopper"}


def test_register_creates_an_unverified_user_and_records_it(db, api_client, run_on_commit) -> None:
    response = run_on_commit(api_client.post, URL, GOOD)

    assert response.status_code == 201
    user = User.objects.get(email="grace@example.com")
    assert user.check_password("cobol-compiler-1959")
    assert (user.role, user.is_verified, user.is_active, user.is_staff) == ("user", False, True, False)
    audit = AuditEvent.objects.get(action="user.registered")
    assert (audit.actor, audit.object_type, audit.object_id) == (user, "users.user", str(user.pk))
    event = OutboxEvent.objects.get(event_type="user.registered")
    assert event.priority == "medium"
    assert (event.aggregate_type, event.aggregate_id) == ("user", str(user.pk))
    assert event.payload == {"user_id": user.pk, "account_id": str(user.account_id), "email": "grace@example.com"}
    [message] = emails_to("grace@example.com", "Confirm your email address")
    assert "Grace Hopper" in message.body
    assert link_params(message)["uid"]


def test_register_without_full_name(db, api_client) -> None:
    response = api_client.post(URL, {"email": "nameless@example.com", "password": GOOD["password"]})
    assert response.status_code == 201
    assert response.json()["full_name"] == ""


def test_register_sends_nothing_before_the_commit(db, api_client, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api_client.post(URL, GOOD)
    assert response.status_code == 201
    assert mail.outbox == []
    assert callbacks  # the email (and the outbox relay) wait for the commit


def test_register_ignores_fields_a_client_may_not_set(db, api_client) -> None:
    body = {
        **GOOD,
        "role": "admin",
        "is_staff": True,
        "is_superuser": True,
        "is_verified": True,
        "is_active": False,
        "account_id": "00000000-0000-0000-0000-000000000001",
        "id": 999,
    }
    response = api_client.post(URL, body)

    assert response.status_code == 201
    user = User.objects.get()
    assert (user.role, user.is_staff, user.is_superuser, user.is_verified, user.is_active) == (
        "user",
        False,
        False,
        False,
        True,
    )
    assert str(user.account_id) != body["account_id"]
    assert user.pk != 999
    assert response.json()["role"] == "user"


@pytest.mark.parametrize("taken", ["grace@example.com", "GRACE@Example.COM", "  grace@example.com "])
def test_register_with_a_taken_email_in_any_case_is_400(db, api_client, taken) -> None:
    UserFactory(email="grace@example.com")
    response = api_client.post(URL, {**GOOD, "email": taken})
    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "errors"),
    [
        ({"email": "not-an-email"}, {"email": ["Enter a valid email address."]}),
        ({"email": ""}, {"email": ["This field may not be blank."]}),
        ({"email": None}, {"email": ["This field may not be null."]}),
        ({"email": ["grace@example.com"]}, {"email": ["Enter a valid email address."]}),
        ({"email": 42}, {"email": ["Enter a valid email address."]}),
        ({"password": {"a": 1}}, {"password": ["Not a valid string."]}),
        ({"full_name": "x" * 151}, {"full_name": ["Ensure this field has no more than 150 characters."]}),
        (
            {"password": "password"},
            {"password": ["This password is too common."]},
        ),
        (
            {"password": "12345"},
            {
                "password": [
                    "This password is too short. It must contain at least 8 characters.",
                    "This password is too common.",
                    "This password is entirely numeric.",
                ]
            },
        ),
        ({"password": "grace@example.com"}, {"password": ["The password is too similar to the email."]}),
    ],
)
def test_register_bad_input_is_400_naming_the_field(db, api_client, change, errors) -> None:
    response = api_client.post(URL, {**GOOD, **change})
    assert response.status_code == 400
    assert response.json() == errors
    assert not User.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not OutboxEvent.objects.exists()


def test_register_with_no_body_names_every_required_field(db, api_client) -> None:
    response = api_client.post(URL, {})
    assert response.status_code == 400
    assert response.json() == {"email": ["This field is required."], "password": ["This field is required."]}


def test_register_with_malformed_json_is_400(db, api_client) -> None:
    response = api_client.post(URL, "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "detail" in response.json()
    assert not User.objects.exists()


def test_register_accepts_a_stale_token_in_the_header(db, api_client) -> None:
    api_client.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert api_client.post(URL, GOOD).status_code == 201


def test_a_lost_race_on_the_email_is_a_400_not_a_500(db, api_client, monkeypatch) -> None:
    """Two sign-ups with one email: the second passes the serializer's check, then meets the database's."""
    from apps.users import serializers

    UserFactory(email="grace@example.com")
    monkeypatch.setattr(serializers.RegisterSerializer, "validate_email", lambda self, value: value.lower())
    response = api_client.post(URL, {**GOOD, "email": "Grace@example.com"})
    assert response.status_code == 400
    assert response.json() == {"email": ["A user with this email already exists."]}
    assert User.objects.count() == 1
    assert not AuditEvent.objects.exists()
