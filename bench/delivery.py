"""Delivery through the worker, with the bench's settings. Each prints one JSON object.

`python -m bench.delivery throughput COUNT TIMEOUT`: COUNT new messages with realistic bodies (one-part notices,
GSM-7 texts of two and three parts, the extension table's characters, UCS-2 ones of one to three parts), their
encoding and segments counted as a create counts them, handed to the worker at once the way an accepted message
is (`request_delivery`: a wake-up, answered by claiming what is due), timed until every one is `sent`. Pacing is
off for them: their sender is one of this run's own, without a rate.

`python -m bench.delivery pacing SENDERS PER_SENDER RATE TIMEOUT`: SENDERS senders of this run's own, each with
its own rate of RATE segments a second (a sender number's `rate_per_second`, as an admin sets it), PER_SENDER
one-part messages each, handed over at once and timed until every one is `sent`. However many worker processes
share the work, the senders together should deliver about SENDERS x RATE messages a second, and no sender faster
than RATE: the token bucket is shared (Redis). While it waits it sends a wake-up every few seconds, as beat's
`deliver-due-messages` does in a deployment (the bench runs no beat).
"""

import argparse
import json
import random
import time
from collections.abc import Callable
from typing import Any

# One-part GSM-7 texts, the everyday traffic.
ONE_PART = (
    "Your verification code is {code}. It expires in 10 minutes. Never share it with anyone.",
    "Hi {name}, your order #{order} has shipped and should arrive on Thursday. Track it at https://example.com/t/{order}",
    "Reminder: your appointment with Dr Patel is tomorrow at 09:30. Reply C to confirm or R to reschedule.",
    "{name}, your table for 4 at Luigi's is booked for Friday 19:45. See you then!",
    "Your parcel {order} is out for delivery today between 13:00 and 15:00.",
)
# GSM-7 with the extension table's characters (each counts two septets).
EXTENDED = "Your balance is €{amount} [ref {order}]. Top up at https://example.com/topup ~ reply STOP | help: {{}}"
# GSM-7 texts of two and three parts.
LONG = (
    "Dear {name}, thank you for shopping with us. Your order #{order} has been packed and handed to the courier. "
    "You will receive another message with a delivery window on the morning it arrives. If you are not at home, "
    "the courier will leave a card with instructions. Questions? Call 0800 123 456.",
    "{name}, this is a reminder that your subscription renews on the 1st of next month for EUR {amount}. "
    "If you would like to change your plan, update your payment details or cancel, visit https://example.com/account "
    "before the end of the month. Your loyalty points ({code}) will carry over to the new period automatically, and "
    "you can redeem them for discounts at checkout. Thank you for being a customer for over two years!",
)
# UCS-2: non-Latin scripts and emoji (a surrogate pair counts two code units). Their letters look like Latin ones on
# purpose (RUF001): they are what takes a text out of GSM-7.
UNICODE = (
    "Ваш код подтверждения {code}. Никому его не сообщайте.",  # noqa: RUF001
    "🎉 {name}, 20% off everything this weekend only! Use code SAVE20 at checkout 🛍️",
    "尊敬的{name}，您的订单{order}已发货，预计周四送达。如有疑问，请拨打客服热线。感谢您的支持！我们期待再次为您服务。"  # noqa: RUF001
    "本周末全场八折，使用优惠码即可享受折扣，欢迎光临。请保留此短信作为凭证，签收时出示给快递员，如需改期请回复改期，"  # noqa: RUF001
    "如需退货请在七天内联系我们，我们将安排上门取件。",  # noqa: RUF001
)
NAMES = ("Ana", "Bram", "Chen", "Dmitri", "Eva", "Farid", "Grace", "Hiro")


def realistic_body(rng: random.Random, *, one_part_only: bool = False) -> str:
    """A body as accounts send them: mostly one-part notices, some long texts, some UCS-2."""
    if one_part_only:
        template = rng.choice(ONE_PART)
    else:
        roll = rng.random()
        template = (
            rng.choice(ONE_PART) if roll < 0.55 else
            EXTENDED if roll < 0.65 else
            rng.choice(LONG) if roll < 0.85 else
            rng.choice(UNICODE)
        )  # fmt: skip
    return template.format(
        code=rng.randint(100_000, 999_999),
        name=rng.choice(NAMES),
        order=rng.randint(10_000, 99_999),
        amount=f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}",
    )


def _setup() -> None:
    import django

    django.setup()


def _bench_messages(account_id: Any, senders: list[str], bodies: list[str]) -> list[Any]:
    """Queued messages from `senders` (in turn) with `bodies`, each with the columns a create computes."""
    from apps.messages.acceptance.services import acceptance_fields
    from apps.messages.models import Message

    return Message.objects.bulk_create(
        [
            Message(account_id=account_id, sender_number=senders[n % len(senders)], receiver_number="+15550000002",
                    body=body, **acceptance_fields(body=body, send_at=None, validity_period=None))
            for n, body in enumerate(bodies)
        ]
    )  # fmt: skip


def _hand_over_and_wait(messages: list[Any], timeout: float, sent_count: Callable[[], int], *, sweep: bool) -> float:
    """Hand `messages` to the workers as accepted ones are, then wait until `sent_count()` covers them all (or
    `timeout`); returns the seconds taken. `sweep`: a wake-up every BEAT_SWEEP_SECONDS, as beat sends."""
    from apps.messages.dispatch import request_delivery, wake_workers

    started = time.perf_counter()
    for message in messages:
        request_delivery(message.pk)
    next_sweep = started + BEAT_SWEEP_SECONDS
    while time.perf_counter() < started + timeout and sent_count() < len(messages):
        if sweep and time.perf_counter() >= next_sweep:
            wake_workers()
            next_sweep += BEAT_SWEEP_SECONDS
        time.sleep(0.1)
    return time.perf_counter() - started


BEAT_SWEEP_SECONDS = 5


def _owner() -> Any:
    from apps.users.models import User

    owner = User.objects.order_by("id").first()
    if owner is None:
        raise SystemExit("seed_demo made no users")
    return owner


def _run_prefix() -> str:
    # Senders of this run's own: the progress check is then one cheap indexed count, not a query over every id.
    return f"+1556{random.randint(100_000, 999_999)}"  # noqa: S311 - not a secret


def throughput(count: int, timeout: float) -> dict[str, Any]:
    _setup()
    from django.db.models import Sum

    from apps.messages.models import Message

    owner = _owner()
    sender = _run_prefix() + "0"
    rng = random.Random(count)  # noqa: S311 - sample text, not a secret
    messages = _bench_messages(owner.account_id, [sender], [realistic_body(rng) for _ in range(count)])
    mine = Message.objects.filter(account_id=owner.account_id, sender_number=sender)
    elapsed = _hand_over_and_wait(messages, timeout, lambda: mine.filter(status="sent").count(), sweep=False)
    sent = mine.filter(status="sent")
    sent_count = sent.count()
    segments = sent.aggregate(total=Sum("segments"))["total"] or 0
    return {
        "messages": count,
        "sent": sent_count,
        "seconds": round(elapsed, 3),
        "per_second": round(sent_count / elapsed, 1),
        "segments": segments,
        "segments_per_second": round(segments / elapsed, 1),
        "multi_segment": mine.filter(segments__gt=1).count(),
        "ucs2": mine.filter(encoding=Message.Encoding.UCS_2).count(),
        "max_segments": max(message.segments for message in messages),
    }


def pacing(senders: int, per_sender: int, rate: float, timeout: float) -> dict[str, Any]:
    _setup()
    from apps.messages.models import Message, SenderNumber

    owner = _owner()
    prefix = _run_prefix()
    numbers = [f"{prefix}{n:03d}" for n in range(senders)]
    SenderNumber.objects.bulk_create(
        [SenderNumber(account_id=owner.account_id, value=number, kind=SenderNumber.Kind.PHONE, rate_per_second=rate)
         for number in numbers]
    )  # fmt: skip
    try:
        rng = random.Random(senders)  # noqa: S311 - sample text, not a secret
        count = senders * per_sender
        # In turn by sender: each claim of the oldest due messages takes some of every sender.
        bodies = [realistic_body(rng, one_part_only=True) for _ in range(count)]
        messages = _bench_messages(owner.account_id, numbers, bodies)
        mine = Message.objects.filter(account_id=owner.account_id, sender_number__in=numbers)
        elapsed = _hand_over_and_wait(messages, timeout, lambda: mine.filter(status="sent").count(), sweep=True)
        rows = list(mine.filter(status="sent").values_list("sender_number", "sent_at", "segments"))
    finally:
        SenderNumber.objects.filter(value__in=numbers).delete()
    by_sender: dict[str, list[Any]] = {}
    for number, sent_at, _ in rows:
        by_sender.setdefault(number, []).append(sent_at)
    # A sender's own pace: its messages after the first over the time from its first send to its last.
    sender_rates = [
        (len(times) - 1) / (max(times) - min(times)).total_seconds()
        for times in by_sender.values()
        if len(times) > 1 and max(times) > min(times)
    ]
    segments = sum(row[2] for row in rows)
    return {
        "senders": senders,
        "rate_per_sender": rate,
        "messages": count,
        "sent": len(rows),
        "seconds": round(elapsed, 3),
        "per_second": round(len(rows) / elapsed, 1),
        "segments_per_second": round(segments / elapsed, 1),
        "expected_per_second": senders * rate,
        "fastest_sender_per_second": round(max(sender_rates), 3) if sender_rates else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    measures = parser.add_subparsers(dest="measure", required=True)
    one = measures.add_parser("throughput")
    one.add_argument("count", type=int)
    one.add_argument("timeout", type=float)
    paced = measures.add_parser("pacing")
    paced.add_argument("senders", type=int)
    paced.add_argument("per_sender", type=int)
    paced.add_argument("rate", type=float)
    paced.add_argument("timeout", type=float)
    args = parser.parse_args()
    if args.measure == "throughput":
        print(json.dumps(throughput(args.count, args.timeout)))
    else:
        print(json.dumps(pacing(args.senders, args.per_sender, args.rate, args.timeout)))


if __name__ == "__main__":
    main()
