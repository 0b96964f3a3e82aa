"""Opt-outs: keywords a recipient texts (STOP and synonyms, STOPALL, START, HELP) and what they do, the refusal of a
create to an opted-out recipient, the failure at send time of a message accepted before the opt-out, the account's
opt-out list and keyword answers (API and admin), every change audited with where it came from."""

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

import pytest
from django.test import Client
from django.utils import timezone

from apps.core.models import AuditEvent
from apps.messages.backends import locmem
from apps.messages.delivery.services import message_deliver, messages_deliver
from apps.messages.models import Message, MessagingSettings, OptOut, SenderNumber
from apps.messages.optouts.services import apply_inbound_keywords, apply_keyword
from tests.users.factories import UserFactory

from .helpers import MESSAGES_URL, iso

OPT_OUTS_URL = "/api/v1/accounts/me/opt-outs/"
MESSAGING_URL = "/api/v1/accounts/me/messaging/"
OURS = "+15551230001"
OTHER_OF_OURS = "+15551230002"
THEIRS = "+442079460958"

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(user) -> list[SenderNumber]:
    return [
        SenderNumber.objects.create(account_id=user.account_id, value=value, kind="phone")
        for value in (OURS, OTHER_OF_OURS)
    ]


def _text(user, body: str, *, ours: str = OURS, theirs: str = THEIRS):
    return apply_keyword(account_id=user.account_id, our_number=ours, their_number=theirs, body=body)


def _create(client, *, sender: str = OURS, receiver: str = THEIRS):
    return client.post(
        MESSAGES_URL, {"sender_number": sender, "receiver_number": receiver, "body": "Hi"}, format="json"
    )


def _refusal_json() -> dict[str, str]:
    return {
        "detail": "The recipient opted out of the account's messages from this sender (or from all of them): "
        "GET /api/v1/accounts/me/opt-outs/.",
        "code": "recipient_opted_out",
    }


# --- Keywords -------------------------------------------------------------------------------------------------------


def test_stop_then_a_create_from_that_number_is_refused_403_and_writes_nothing(user_client, user, numbers) -> None:
    _text(user, "STOP")
    before = Message.objects.count()

    response = _create(user_client)

    assert response.status_code == 403
    assert response.json() == _refusal_json()
    assert Message.objects.count() == before


def test_before_stop_the_same_create_is_accepted(user_client, user, numbers) -> None:
    response = _create(user_client)

    assert response.status_code == 201


def test_stop_opts_out_of_the_number_texted_only(user_client, user, numbers) -> None:
    _text(user, "STOP")

    assert _create(user_client, sender=OTHER_OF_OURS).status_code == 201
    assert _create(user_client, receiver="+442079460959").status_code == 201


def test_stopall_opts_out_of_every_number_of_the_account(user_client, user, numbers) -> None:
    _text(user, "STOPALL")

    assert _create(user_client).json()["code"] == "recipient_opted_out"
    assert _create(user_client, sender=OTHER_OF_OURS).json()["code"] == "recipient_opted_out"
    assert OptOut.objects.get().sender_number is None


def test_an_opt_out_is_the_accounts_own(auth_client, user, numbers) -> None:
    _text(user, "STOPALL")
    other = UserFactory()

    assert _create(auth_client(other)).status_code == 201


@pytest.mark.parametrize("body", ["STOP", "stop", "  Stop \n", "UNSUBSCRIBE", "cancel", "End", "QUIT"])
def test_stop_and_its_synonyms_in_any_case_opt_out_of_the_number(user, numbers, body) -> None:
    outcome = _text(user, body)

    assert outcome.keyword == body.strip().upper()
    rows = list(OptOut.objects.values_list("account_id", "sender_number", "recipient_number", "source"))
    assert rows == [(user.account_id, OURS, THEIRS, "keyword")]


@pytest.mark.parametrize("body", ["stop please", "STOP!", "S TOP", "STOPP", "Hello", "", "   "])
def test_a_body_that_is_not_a_whole_keyword_does_nothing(user, numbers, body) -> None:
    outcome = _text(user, body)

    assert outcome.keyword is None
    assert not OptOut.objects.exists()
    assert not Message.objects.exists()


def test_the_stop_confirmation_is_a_real_message_delivered_to_the_opted_out_recipient(
    user, numbers, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        outcome = _text(user, "stop")

    reply = Message.objects.get()
    assert outcome.reply == reply
    assert (reply.account_id, reply.sender_number, reply.receiver_number, reply.body) == (
        user.account_id,
        OURS,
        THEIRS,
        "You are unsubscribed. Reply START to resubscribe.",
    )
    assert (reply.status, reply.auto_reply, reply.segments, reply.encoding) == ("sent", "stop_confirmation", 1, "GSM-7")
    assert [(sms.receiver_number, sms.body) for sms in locmem.outbox] == [(THEIRS, reply.body)]
    created = AuditEvent.objects.get(action="message.created")
    assert (created.actor_id, created.object_id, created.changes) == (
        None,
        reply.message_id,
        {"auto_reply": [None, "stop_confirmation"]},
    )


def test_a_repeated_stop_makes_one_opt_out_and_one_confirmation(user, numbers) -> None:
    first = _text(user, "STOP")
    again = _text(user, "quit")

    assert first.opt_out is not None
    assert (again.opt_out, again.reply) == (None, None)
    assert OptOut.objects.count() == 1
    assert Message.objects.filter(auto_reply="stop_confirmation").count() == 1


def test_start_then_a_create_is_sent(user_client, user, numbers, django_capture_on_commit_callbacks) -> None:
    _text(user, "STOP")
    _text(user, "START")

    with django_capture_on_commit_callbacks(execute=True):
        response = _create(user_client)

    assert response.status_code == 201
    assert Message.objects.get(message_id=response.json()["message_id"]).status == "sent"
    assert (locmem.outbox[-1].receiver_number, locmem.outbox[-1].body) == (THEIRS, "Hi")
    assert not OptOut.objects.exists()


@pytest.mark.parametrize("body", ["START", "unstop", " yes "])
def test_start_takes_back_the_numbers_and_the_account_wide_opt_out_but_no_other_numbers(
    user_client, user, numbers, body
) -> None:
    _text(user, "STOP")
    _text(user, "STOPALL")
    _text(user, "STOP", ours=OTHER_OF_OURS)

    outcome = _text(user, body)

    assert outcome.removed == 2
    assert list(OptOut.objects.values_list("sender_number", flat=True)) == [OTHER_OF_OURS]
    assert _create(user_client).status_code == 201
    assert _create(user_client, sender=OTHER_OF_OURS).status_code == 403
    assert not Message.objects.filter(body__icontains="START", auto_reply="").exists()


@pytest.mark.parametrize("body", ["HELP", "help", " Info "])
def test_help_is_answered_with_the_accounts_help_text_as_a_delivered_message(
    user_client, user, numbers, body, django_capture_on_commit_callbacks
) -> None:
    user_client.patch(MESSAGING_URL, {"help_text": "Acme: call 555-0100. STOP to opt out."}, format="json")

    with django_capture_on_commit_callbacks(execute=True):
        outcome = _text(user, body)

    reply = Message.objects.get()
    assert outcome.reply == reply
    assert (reply.sender_number, reply.receiver_number, reply.body, reply.status, reply.auto_reply) == (
        OURS,
        THEIRS,
        "Acme: call 555-0100. STOP to opt out.",
        "sent",
        "help",
    )
    assert [(sms.sender_number, sms.body) for sms in locmem.outbox] == [(OURS, reply.body)]
    assert not OptOut.objects.exists()


def test_help_without_a_text_of_the_accounts_answers_the_default(user, numbers, settings) -> None:
    settings.MESSAGE_HELP_TEXT = "Default help."

    assert _text(user, "HELP").reply.body == "Default help."


def test_an_opted_out_recipient_still_gets_the_help_answer(user, numbers, django_capture_on_commit_callbacks) -> None:
    _text(user, "STOPALL")

    with django_capture_on_commit_callbacks(execute=True):
        reply = _text(user, "HELP").reply

    reply.refresh_from_db()
    assert reply.status == "sent"


def test_the_auto_replies_need_no_verified_email(settings) -> None:
    unverified = UserFactory(is_verified=False)
    settings.MESSAGES_ALLOW_ANY_SENDER = False
    SenderNumber.objects.create(account_id=unverified.account_id, value=OURS, kind="phone")

    assert _text(unverified, "HELP").reply is not None


def test_an_auto_reply_from_a_number_the_account_may_not_send_from_is_refused_and_rolls_back(user, settings) -> None:
    from apps.messages.senders.services import SenderNotAllowed

    settings.MESSAGES_ALLOW_ANY_SENDER = False

    with pytest.raises(SenderNotAllowed):
        _text(user, "STOP")

    assert not OptOut.objects.exists()
    assert not Message.objects.exists()


@dataclass
class Inbound:
    """The fields the inbound concern's InboundMessage has, which apply_inbound_keywords reads."""

    account_id: UUID
    from_number: str
    to_number: str
    body: str | None
    backend: str = "http"


def test_an_inbound_message_is_read_as_the_recipient_texting_the_accounts_number(user, numbers) -> None:
    apply_inbound_keywords(inbound=Inbound(account_id=user.account_id, from_number=THEIRS, to_number=OURS, body="Stop"))
    apply_inbound_keywords(inbound=Inbound(account_id=user.account_id, from_number=THEIRS, to_number=OURS, body=None))

    assert list(OptOut.objects.values_list("sender_number", "recipient_number")) == [(OURS, THEIRS)]
    assert Message.objects.get().receiver_number == THEIRS


def test_a_keyword_opt_out_is_audited_with_where_it_came_from(user, numbers) -> None:
    _text(user, "STOP")
    _text(user, "START")

    created = AuditEvent.objects.get(action="opt_out.created")
    deleted = AuditEvent.objects.get(action="opt_out.deleted")
    assert (created.actor_id, created.changes["via"], created.changes["recipient_number"]) == (
        None,
        "keyword",
        [None, THEIRS],
    )
    assert (deleted.actor_id, deleted.changes["via"], deleted.changes["sender_number"]) == (
        None,
        "keyword",
        [OURS, None],
    )


# --- Messages accepted before the opt-out ---------------------------------------------------------------------------


def _scheduled(user_client) -> Message:
    send_at = timezone.now() + timedelta(minutes=5)
    response = user_client.post(
        MESSAGES_URL,
        {"sender_number": OURS, "receiver_number": THEIRS, "body": "Later", "send_at": iso(send_at)},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Message.objects.get(message_id=response.json()["message_id"])


def _make_due(message: Message) -> None:
    past = timezone.now() - timedelta(seconds=1)
    Message.objects.filter(pk=message.pk).update(send_at=past, next_attempt_at=past)


def test_a_scheduled_message_to_a_recipient_who_opted_out_fails_at_send_time_unsent(user_client, user, numbers) -> None:
    message = _scheduled(user_client)
    _text(user, "STOP")
    locmem.outbox.clear()  # the confirmation is not what this test is about
    _make_due(message)

    failed = messages_deliver(message_pks=[], claim_due=True)

    message.refresh_from_db()
    assert failed == []
    assert (message.status, message.error_code, message.attempts, message.backend) == (
        "failed",
        "recipient_opted_out",
        0,
        "",
    )
    assert [sms.body for sms in locmem.outbox if sms.body == "Later"] == []
    assert user_client.get(f"{MESSAGES_URL}{message.message_id}/").json()["error_code"] == "recipient_opted_out"


def test_the_same_scheduled_message_without_the_opt_out_is_sent(user_client, user, numbers) -> None:
    message = _scheduled(user_client)
    _make_due(message)

    messages_deliver(message_pks=[], claim_due=True)

    message.refresh_from_db()
    assert message.status == "sent"


def test_a_message_waiting_for_a_retry_fails_when_its_recipient_opts_out_meanwhile(user, numbers) -> None:
    from .factories import MessageFactory

    message = MessageFactory(account_id=user.account_id, sender_number=OURS, receiver_number=THEIRS, attempts=1)
    _text(user, "STOPALL")

    assert message_deliver(message_pk=message.pk) is None

    message.refresh_from_db()
    assert (message.status, message.error_code, message.attempts) == ("failed", "recipient_opted_out", 1)


def test_in_a_batch_only_the_opted_out_recipients_messages_fail(user, numbers) -> None:
    from .factories import MessageFactory

    _text(user, "STOP")
    to_them = MessageFactory(account_id=user.account_id, sender_number=OURS, receiver_number=THEIRS)
    other_sender = MessageFactory(account_id=user.account_id, sender_number=OTHER_OF_OURS, receiver_number=THEIRS)
    other_account = MessageFactory(sender_number=OURS, receiver_number=THEIRS)

    messages_deliver(message_pks=[to_them.pk, other_sender.pk, other_account.pk])

    statuses = {m.pk: (m.status, m.error_code) for m in Message.objects.filter(auto_reply="")}
    assert statuses == {
        to_them.pk: ("failed", "recipient_opted_out"),
        other_sender.pk: ("sent", ""),
        other_account.pk: ("sent", ""),
    }


# --- The account's opt-out list -------------------------------------------------------------------------------------


def _opt_out_json(opt_out: OptOut) -> dict:
    return {
        "id": opt_out.pk,
        "recipient_number": opt_out.recipient_number,
        "sender_number": opt_out.sender_number,
        "source": opt_out.source,
        "created_at": iso(opt_out.created_at),
    }


def test_the_account_lists_its_opt_outs_newest_first_and_filters_by_recipient(
    user_client, user, other_user, numbers
) -> None:
    first = _text(user, "STOP").opt_out
    second = _text(user, "STOPALL", theirs="+442079460959").opt_out
    OptOut.objects.create(account_id=other_user.account_id, recipient_number=THEIRS, source="api")

    listed = user_client.get(OPT_OUTS_URL)
    filtered = user_client.get(OPT_OUTS_URL, {"recipient_number": "+44 20 7946 0958"})

    assert listed.json() == {
        "count": 2,
        "next": None,
        "previous": None,
        "results": [_opt_out_json(second), _opt_out_json(first)],
    }
    assert filtered.json()["results"] == [_opt_out_json(first)]


def test_a_recipient_filter_that_is_no_number_is_400(user_client) -> None:
    response = user_client.get(OPT_OUTS_URL, {"recipient_number": "nope"})

    assert response.status_code == 400
    assert list(response.json()) == ["recipient_number"]


@pytest.mark.parametrize("value", ["50%", "%s", "%(x)s", "+1%"])
def test_a_recipient_filter_with_a_percent_sign_is_a_400_quoting_it(user_client, value) -> None:
    """The refused value is quoted in the message, never read as a format string (it was a 500)."""
    response = user_client.get(OPT_OUTS_URL, {"recipient_number": value})

    assert (response.status_code, response.json()) == (
        400,
        {
            "recipient_number": [
                f"'{value}': Enter a phone number in E.164 form: '+' then 8 to 15 digits (spaces, dashes, dots and "
                "brackets are ignored)."
            ]
        },
    )


def test_the_account_adds_an_opt_out_idempotently_and_it_refuses_creates(user_client, user, numbers) -> None:
    body = {"recipient_number": "+44 (20) 7946-0958", "sender_number": OURS}

    created = user_client.post(OPT_OUTS_URL, body, format="json")
    again = user_client.post(OPT_OUTS_URL, body, format="json")

    opt_out = OptOut.objects.get()
    assert (created.status_code, again.status_code) == (201, 200)
    assert created.json() == again.json() == _opt_out_json(opt_out)
    assert (opt_out.sender_number, opt_out.recipient_number, opt_out.source) == (OURS, THEIRS, "api")
    assert _create(user_client).json()["code"] == "recipient_opted_out"
    audit = AuditEvent.objects.get(action="opt_out.created")
    assert (audit.actor_id, audit.changes["via"]) == (user.pk, "api")


def test_an_opt_out_without_a_sender_is_account_wide(user_client, user, numbers) -> None:
    response = user_client.post(OPT_OUTS_URL, {"recipient_number": THEIRS, "sender_number": None}, format="json")

    assert response.status_code == 201
    assert response.json()["sender_number"] is None
    assert _create(user_client, sender=OTHER_OF_OURS).status_code == 403


def test_an_opt_out_from_a_number_the_account_does_not_own_is_403_and_writes_nothing(user_client, other_user) -> None:
    SenderNumber.objects.create(account_id=other_user.account_id, value=OURS, kind="phone")

    response = user_client.post(OPT_OUTS_URL, {"recipient_number": THEIRS, "sender_number": OURS}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "sender_not_allowed"
    assert not OptOut.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"recipient_number": "12"}, "recipient_number"),
        ({}, "recipient_number"),
        ({"recipient_number": THEIRS, "sender_number": "+1!"}, "sender_number"),
    ],
)
def test_a_bad_opt_out_body_is_400_naming_the_field(user_client, body, field) -> None:
    response = user_client.post(OPT_OUTS_URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_the_account_deletes_its_own_opt_out_audited_and_creates_go_through_again(user_client, user, numbers) -> None:
    added = user_client.post(OPT_OUTS_URL, {"recipient_number": THEIRS}, format="json")

    response = user_client.delete(f"{OPT_OUTS_URL}{added.json()['id']}/")

    assert response.status_code == 204
    assert not OptOut.objects.exists()
    assert _create(user_client).status_code == 201
    audit = AuditEvent.objects.get(action="opt_out.deleted")
    assert (audit.actor_id, audit.changes["via"], audit.changes["source"]) == (user.pk, "api", ["api", None])


def test_the_account_cannot_take_back_an_opt_out_the_recipient_texted(user_client, user, numbers) -> None:
    opt_out = _text(user, "STOP").opt_out

    response = user_client.delete(f"{OPT_OUTS_URL}{opt_out.pk}/")

    assert response.status_code == 409
    assert response.json()["code"] == "opt_out_by_recipient"
    assert OptOut.objects.filter(pk=opt_out.pk).exists()
    assert not AuditEvent.objects.filter(action="opt_out.deleted").exists()
    assert _create(user_client).status_code == 403


def test_another_accounts_opt_out_is_404_and_stays(auth_client, user, numbers) -> None:
    opt_out = _text(user, "STOP").opt_out

    response = auth_client(UserFactory()).delete(f"{OPT_OUTS_URL}{opt_out.pk}/")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert OptOut.objects.exists()


def test_the_opt_outs_need_a_signed_in_caller(api_client) -> None:
    assert api_client.get(OPT_OUTS_URL).status_code == 401
    assert api_client.post(OPT_OUTS_URL, {"recipient_number": THEIRS}, format="json").status_code == 401


# --- The account's keyword answers ----------------------------------------------------------------------------------


def test_the_keyword_answers_are_the_defaults_until_the_account_sets_them(user_client, settings) -> None:
    settings.MESSAGE_HELP_TEXT = "Default help."
    settings.MESSAGE_STOP_CONFIRMATION_TEXT = "Default stop."

    assert user_client.get(MESSAGING_URL).json() == {
        "help_text": "Default help.",
        "stop_confirmation_text": "Default stop.",
    }


def test_the_account_sets_one_answer_and_an_empty_text_restores_the_default(user_client, user, settings) -> None:
    settings.MESSAGE_STOP_CONFIRMATION_TEXT = "Default stop."

    set_help = user_client.patch(MESSAGING_URL, {"help_text": "Our help."}, format="json")
    set_stop = user_client.patch(MESSAGING_URL, {"stop_confirmation_text": "Bye."}, format="json")
    reset = user_client.patch(MESSAGING_URL, {"stop_confirmation_text": ""}, format="json")

    assert set_help.json() == {"help_text": "Our help.", "stop_confirmation_text": "Default stop."}
    assert set_stop.json() == {"help_text": "Our help.", "stop_confirmation_text": "Bye."}
    assert reset.json() == {"help_text": "Our help.", "stop_confirmation_text": "Default stop."}
    assert MessagingSettings.objects.get().account_id == user.account_id
    changes = [e.changes for e in AuditEvent.objects.filter(action="messaging_settings.changed").order_by("id")]
    assert changes == [
        {"help_text": ["", "Our help."]},
        {"stop_confirmation_text": ["", "Bye."]},
        {"stop_confirmation_text": ["Bye.", ""]},
    ]


def test_the_stop_confirmation_is_the_accounts_text(user_client, user, numbers) -> None:
    user_client.patch(MESSAGING_URL, {"stop_confirmation_text": "Acme: unsubscribed."}, format="json")

    assert _text(user, "STOP").reply.body == "Acme: unsubscribed."


def test_an_answer_over_the_segment_limit_is_400_and_changes_nothing(user_client, settings) -> None:
    settings.MESSAGE_MAX_SEGMENTS = 1

    response = user_client.patch(MESSAGING_URL, {"help_text": "x" * 161}, format="json")

    assert response.status_code == 400
    assert response.json() == {"help_text": ["The text takes 2 SMS segments; the limit is 1 (MESSAGE_MAX_SEGMENTS)."]}
    assert not MessagingSettings.objects.exists()


# --- The admin ------------------------------------------------------------------------------------------------------


@pytest.fixture
def staff_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def test_the_admin_adds_an_opt_out_through_the_service_audited(staff_client, admin_user, user, numbers) -> None:
    response = staff_client.post(
        "/admin/messaging/optout/add/",
        {"account_id": str(user.account_id), "recipient_number": "+44 20 7946 0958", "sender_number": ""},
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    opt_out = OptOut.objects.get()
    assert (opt_out.sender_number, opt_out.recipient_number, opt_out.source) == (None, THEIRS, "admin")
    audit = AuditEvent.objects.get(action="opt_out.created")
    assert (audit.actor_id, audit.changes["via"], audit.object_id) == (admin_user.pk, "admin", str(opt_out.pk))


def test_the_admin_refuses_a_sender_the_account_does_not_own(staff_client, user) -> None:
    response = staff_client.post(
        "/admin/messaging/optout/add/",
        {"account_id": str(user.account_id), "recipient_number": THEIRS, "sender_number": OURS},
    )

    assert response.status_code == 200  # the form again, with the error
    assert "This account does not own this number or sender ID." in response.content.decode()
    assert not OptOut.objects.exists()


def test_the_admin_refuses_a_second_opt_out_of_the_same_scope(staff_client, user, numbers) -> None:
    _text(user, "STOPALL")

    response = staff_client.post(
        "/admin/messaging/optout/add/",
        {"account_id": str(user.account_id), "recipient_number": THEIRS, "sender_number": ""},
    )

    assert response.status_code == 200
    assert "already opted out of every number" in response.content.decode()
    assert OptOut.objects.count() == 1


def test_the_admin_deletes_an_opt_out_audited(staff_client, admin_user, user, numbers) -> None:
    opt_out = _text(user, "STOP").opt_out

    response = staff_client.post(f"/admin/messaging/optout/{opt_out.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not OptOut.objects.exists()
    audit = AuditEvent.objects.get(action="opt_out.deleted")
    assert (audit.actor_id, audit.changes["via"]) == (admin_user.pk, "admin")


def test_the_admin_sets_an_accounts_keyword_answers_audited(staff_client, admin_user, user) -> None:
    response = staff_client.post(
        "/admin/messaging/messagingsettings/add/",
        {"account_id": str(user.account_id), "help_text": "Admin help.", "stop_confirmation_text": ""},
    )

    assert response.status_code == 302, response.content.decode()[-2000:]
    assert MessagingSettings.objects.get().help_text == "Admin help."
    audit = AuditEvent.objects.get(action="messaging_settings.changed")
    assert (audit.actor_id, audit.changes) == (admin_user.pk, {"help_text": ["", "Admin help."]})


def test_a_plain_user_cannot_manage_opt_outs_in_the_admin(user) -> None:
    client = Client()
    client.force_login(user)

    response = client.post(
        "/admin/messaging/optout/add/", {"account_id": str(user.account_id), "recipient_number": THEIRS}
    )

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not OptOut.objects.exists()


@pytest.mark.django_db(transaction=True)  # the seed's COPY and VACUUM on PostgreSQL
def test_the_demo_seed_has_a_recipient_who_opted_out_of_the_first_accounts_number(auth_client) -> None:
    from django.core.management import call_command

    from apps.messages.seed import DEMO_OPTED_OUT_RECIPIENT
    from apps.users.seed import demo_users

    call_command("seed_demo", users=2, messages=0, heavy_accounts=0, products=0, categories=0)
    call_command("seed_demo", users=2, messages=0, heavy_accounts=0, products=0, categories=0, reuse=True)

    (first,) = demo_users(1)
    assert list(OptOut.objects.values_list("account_id", "sender_number", "recipient_number", "source")) == [
        (first.account_id, "+15550000001", DEMO_OPTED_OUT_RECIPIENT, "keyword")
    ]
    body = {"sender_number": "+15550000001", "receiver_number": DEMO_OPTED_OUT_RECIPIENT, "body": "hi"}
    assert auth_client(first).post(MESSAGES_URL, body, format="json").json()["code"] == "recipient_opted_out"


def test_a_retry_of_a_create_accepted_before_the_opt_out_replays_its_answer(user_client, user, numbers) -> None:
    body = {"sender_number": OURS, "receiver_number": THEIRS, "body": "Hi"}
    first = user_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    _text(user, "STOP")

    retry = user_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-1")
    new_key = user_client.post(MESSAGES_URL, body, format="json", HTTP_IDEMPOTENCY_KEY="order-2")

    assert (retry.status_code, retry["Idempotent-Replayed"]) == (201, "true")
    assert retry.json()["message_id"] == first.json()["message_id"]
    assert (new_key.status_code, new_key.json()["code"]) == (403, "recipient_opted_out")
