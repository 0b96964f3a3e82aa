"""The messages' demo data (`manage.py seed_demo`): `--messages` sent messages over the demo users' accounts, the
first `--heavy-accounts` of them with `--heavy-messages` each, a few scheduled and expired ones and a short
conversation (two inbound messages, one of them in two parts, and a reply) for the last demo account, and a
recipient who texted STOP to the first demo account's number. The messages go in with PostgreSQL's COPY
(bulk_create elsewhere): the benchmark asks for a million, which ORM inserts would take many
minutes to write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandParser
from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from apps.core import seeding
from apps.core.keygen import new_key
from apps.users.models import User
from apps.users.seed import demo_users

from .backends import InboundSms
from .encoding import segmentation
from .inbound.services import inbound_receive
from .models import Message, OptOut, SenderNumber
from .pagination import forget_account_counts


class MessageSeeder:
    order = 30  # after the users: the messages go to their accounts

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--messages", type=int, default=500, help="messages, spread over the demo accounts")
        parser.add_argument("--heavy-accounts", type=int, default=1, help="accounts that get --heavy-messages each")
        parser.add_argument("--heavy-messages", type=int, default=200, help="messages of each heavy account")

    def seed(self, run: seeding.SeedRun) -> str:
        users = demo_users(run.options["users"])
        if users and run.options["messages"] >= 2 * LIFECYCLE_EXAMPLES:
            _seed_lifecycle(users[-1])  # part of --messages, on a light account
        numbers = _own_numbers(users)
        if users:
            _opt_out(users[0])
        if users and run.options["messages"] > 2 * LIFECYCLE_EXAMPLES:
            _seed_conversation(users[-1], position=len(users))  # its reply is part of --messages
        missing = run.options["messages"] - Message.objects.count()
        if missing > 0 and users:
            plan = _plan(users, missing, run.options["heavy_accounts"], run.options["heavy_messages"])
            fields = [f for f in Message._meta.concrete_fields if not f.primary_key]
            rows = _rows(plan, missing, fields, run)
            if connection.vendor == "postgresql":
                _copy(rows, fields)
                seeding.analyze([Message])
            else:
                _bulk_create(rows, fields)
            forget_account_counts({user.account_id for user, _ in plan})
        return f"{Message.objects.count()} messages, {numbers} owned numbers, {OptOut.objects.count()} opt-outs"


def _own_numbers(users: list[User]) -> int:
    """Each demo account owns a phone number (`+1555` and its position, 7 digits) and an alphanumeric sender ID,
    so it can send with MESSAGES_ALLOW_ANY_SENDER off; kept as they are on a second run."""
    for position, user in enumerate(users, start=1):
        for value, kind in ((f"+1555{position:07d}", SenderNumber.Kind.PHONE), (f"DEMO{position}", "alphanumeric")):
            SenderNumber.objects.get_or_create(value=value, defaults={"account_id": user.account_id, "kind": kind})
    return SenderNumber.objects.count()


DEMO_OPTED_OUT_RECIPIENT = "+447700900999"


def _opt_out(user: User) -> None:
    """The recipient DEMO_OPTED_OUT_RECIPIENT opted out of the account's phone number, as a STOP does (without the
    confirmation: no message is sent); kept as it is on a second run."""
    OptOut.objects.get_or_create(
        account_id=user.account_id,
        sender_number="+15550000001",
        recipient_number=DEMO_OPTED_OUT_RECIPIENT,
        defaults={"source": OptOut.Source.KEYWORD},
    )


LIFECYCLE_EXAMPLES = 3
CUSTOMER = "+447700900555"


def _seed_conversation(user: User, *, position: int) -> None:
    """A customer writes to the account's number (once whole, once in two parts, as a gateway posts them), and the
    account answers the first: through the inbound service, so a second run stores nothing new."""
    ours = f"+1555{position:07d}"
    question = inbound_receive(
        backend="http",
        sms=InboundSms(CUSTOMER, ours, "Hi, is my order ready?", gateway_message_id="demo-conversation-1"),
    ).inbound
    for part, text in ((2, "thanks!"), (1, "Great, ")):  # the parts arrive out of order
        sms = InboundSms(CUSTOMER, ours, text, f"demo-conversation-2.{part}", reference="demo-2", part=part, parts=2)
        inbound_receive(backend="http", sms=sms)
    if Message.objects.filter(in_reply_to=question.message_id).exists():
        return
    reply = _example(user, "Yes, it ships today.", status=Message.Status.SENT, send_at=None, created_at=timezone.now())
    reply.sender_number, reply.receiver_number, reply.in_reply_to = ours, CUSTOMER, question.message_id
    reply.save(force_insert=True)
    forget_account_counts({user.account_id})


def _seed_lifecycle(user: User) -> None:
    """A few scheduled messages (sent by the workers when due, or cancelable until then) and expired ones, once."""
    if Message.objects.filter(status__in=[Message.Status.SCHEDULED, Message.Status.EXPIRED]).exists():
        return
    now = timezone.now()
    rows = []
    for n in range(LIFECYCLE_EXAMPLES):
        send_at = now + timedelta(hours=n + 1)
        rows.append(
            _example(user, f"Scheduled demo {n}", status=Message.Status.SCHEDULED, send_at=send_at, created_at=now)
        )
        created = now - timedelta(days=1, hours=n)
        rows.append(
            _example(user, f"Expired demo {n}", status=Message.Status.EXPIRED, send_at=None, created_at=created)
        )
    Message.objects.bulk_create(rows)
    forget_account_counts({user.account_id})


def _example(user: User, body: str, *, status: str, send_at: datetime | None, created_at: datetime) -> Message:
    counted = segmentation(body)
    validity = settings.MESSAGE_DEFAULT_VALIDITY_SECONDS
    return Message(
        account_id=user.account_id,
        sender_number="+15550000100",
        receiver_number="+447700900100",
        body=body,
        status=status,
        encoding=counted.encoding,
        segments=counted.segments,
        created_at=created_at,
        send_at=send_at,
        next_attempt_at=send_at or created_at,
        validity_period=validity,
        expires_at=(send_at or created_at) + timedelta(seconds=validity),
    )


def _plan(users: list[User], missing: int, heavy_accounts: int, heavy_each: int) -> list[tuple[User, int]]:
    """How many messages each account gets: `heavy_each` for the heavy ones, the rest spread over the others."""
    heavy = users[:heavy_accounts]
    light = users[heavy_accounts:] or users
    plan = [(user, heavy_each) for user in heavy]
    rest = max(0, missing - heavy_each * len(heavy))
    plan += [
        (light[n % len(light)], rest // len(light) + (1 if n < rest % len(light) else 0)) for n in range(len(light))
    ]
    return plan


def _rows(
    plan: list[tuple[User, int]], missing: int, fields: list[Field[Any, Any]], run: seeding.SeedRun
) -> Iterator[list[Any]]:
    """`missing` rows of `fields` values, oldest first over the last 30 days."""
    rng = run.rng
    start = timezone.now() - timedelta(days=30)
    step = timedelta(days=30) / max(missing, 1)
    produced = 0
    for user, count in plan:
        senders = [f"+1555{rng.randint(1_000_000, 9_999_999)}" for _ in range(10)]
        for _ in range(count):
            if produced >= missing:
                return
            created = start + step * produced
            values = {
                "message_id": new_key(),
                "account_id": user.account_id,
                "sender_number": rng.choice(senders),
                "receiver_number": f"+4477{rng.randint(10_000_000, 99_999_999)}",
                "body": f"Demo message {produced}",
                "status": "sent",
                "attempts": 1,
                "provider_message_id": f"demo-{produced}",
                "created_at": created,
                "sent_at": created + timedelta(seconds=1),
            }
            produced += 1
            yield [values[f.attname] if f.attname in values else f.get_default() for f in fields]


def _copy(rows: Iterator[list[Any]], fields: list[Field[Any, Any]]) -> None:
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields if f.column)  # concrete: all have one
    table = connection.ops.quote_name(Message._meta.db_table)
    copy_sql = f"COPY {table} ({columns}) FROM STDIN"
    with transaction.atomic(), connection.cursor() as cursor, cursor.cursor.copy(copy_sql) as copy:
        for row in rows:
            copy.write_row(row)


def _bulk_create(rows: Iterator[list[Any]], fields: list[Field[Any, Any]]) -> None:
    batch: list[Message] = []
    for row in rows:
        batch.append(Message(**{f.attname: value for f, value in zip(fields, row, strict=True)}))
        if len(batch) == seeding.BATCH:
            Message.objects.bulk_create(batch)
            batch = []
    Message.objects.bulk_create(batch)


seeding.register(MessageSeeder())
