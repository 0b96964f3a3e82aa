"""`python -m bench.delivery COUNT TIMEOUT` (with the bench's settings): COUNT new messages handed to the worker at
once, the way an accepted message is (`request_delivery`: a wake-up, answered by claiming what is due), timed until
every one is `sent`. Prints one JSON object."""

import json
import random
import sys
import time
from typing import Any


def main(count: int, timeout: float) -> dict[str, Any]:
    import django

    django.setup()
    from apps.messages.dispatch import request_delivery
    from apps.messages.models import Message
    from apps.users.models import User

    owner = User.objects.order_by("id").first()
    if owner is None:
        raise SystemExit("seed_demo made no users")
    # A sender of this run's own: the progress check is then one cheap indexed count, not a query over every id.
    sender = f"+1556{random.randint(1_000_000, 9_999_999)}"  # noqa: S311 - not a secret
    messages = Message.objects.bulk_create(
        [Message(account_id=owner.account_id, sender_number=sender, receiver_number="+15550000002",
                 body=f"delivery bench {n}") for n in range(count)]
    )  # fmt: skip
    started = time.perf_counter()
    for message in messages:
        request_delivery(message.pk)
    sent = 0
    while time.perf_counter() < started + timeout:
        sent = Message.objects.filter(account_id=owner.account_id, sender_number=sender, status="sent").count()
        if sent == count:
            break
        time.sleep(0.1)
    elapsed = time.perf_counter() - started
    return {"messages": count, "sent": sent, "seconds": round(elapsed, 3), "per_second": round(sent / elapsed, 1)}


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), float(sys.argv[2]))))
