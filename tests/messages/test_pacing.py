"""Per-sender pacing: a sender without a token now waits (next_attempt_at moves, no attempt counted) instead of
being refused; too long a wait fails the message `queue_timeout`. Across two real workers, one shared bucket."""

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.models import OutboxEvent
from apps.messages.backends import locmem
from apps.messages.encoding import segmentation
from apps.messages.models import Message, SenderNumber
from apps.messages.senders import pacing
from apps.messages.tasks import deliver_message_task, deliver_messages_task
from bench.gateway import Gateway, GatewayHandler

from .factories import MessageFactory
from .helpers import wait_until_sent, warm_up_workers

SENDER = "+15557770001"


@pytest.fixture(autouse=True)
def _fresh_buckets(settings) -> Iterator[None]:
    pacing._local_buckets.clear()
    if settings.REDIS_URL:
        from django_redis import get_redis_connection

        client = get_redis_connection("default")
        for key in client.scan_iter(match="*messages:sender-pace:*"):
            client.delete(key)
    yield
    pacing._local_buckets.clear()


@pytest.mark.django_db
def test_a_sender_past_its_rate_waits_without_an_attempt_and_others_go_on(settings) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 0.5  # one send every 2 s
    paced = MessageFactory.create_batch(3, sender_number=SENDER)
    other = MessageFactory(sender_number="+15557770002")
    before = timezone.now()

    deliver_messages_task.apply()

    assert sorted(sms.message_id for sms in locmem.outbox) == sorted([paced[0].message_id, other.message_id])
    waiting = Message.objects.filter(pk__in=[paced[1].pk, paced[2].pk]).order_by("pk")
    assert [(m.status, m.attempts) for m in waiting] == [("queued", 0), ("queued", 0)]
    waits = [(m.next_attempt_at - before).total_seconds() for m in waiting]
    assert 1.0 < waits[0] <= 2.5  # the next token
    assert 3.0 < waits[1] <= 4.5  # one interval behind it


def _message_of(segments: int, **fields) -> Message:
    """A queued message whose body really takes `segments` GSM-7 segments (153 characters a part)."""
    body = "x" * 153 * segments
    assert segmentation(body).segments == segments
    return MessageFactory(body=body, segments=segments, **fields)


@pytest.mark.parametrize(
    ("burst", "first_segments", "wait"),
    [
        # Counted in messages the second would wait one interval (0.5 s); the first's three segments make it three.
        (1, 3, 1.5),
        # The first took two of the burst's three tokens; the second needs two, so it waits for one more.
        (3, 2, 0.5),
    ],
    ids=["one-token-per-segment", "all-its-segments-at-once"],
)
@pytest.mark.django_db
def test_a_message_takes_one_token_per_segment(settings, burst, first_segments, wait) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 2  # segments a second
    settings.MESSAGE_SENDER_BURST = burst
    first, second = _message_of(first_segments, sender_number=SENDER), _message_of(2, sender_number=SENDER)
    before = timezone.now()

    deliver_messages_task.apply()

    assert [sms.message_id for sms in locmem.outbox] == [first.message_id]
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("queued", 0)
    assert wait - 0.3 < (second.next_attempt_at - before).total_seconds() <= wait + 0.5


@pytest.mark.django_db
def test_a_message_longer_than_the_burst_leaves_from_a_full_bucket(settings) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 100
    message = _message_of(5, sender_number=SENDER)  # the burst is 1

    deliver_message_task.apply(args=(message.pk,))

    assert [sms.message_id for sms in locmem.outbox] == [message.message_id]


@pytest.mark.django_db
def test_without_a_rate_nothing_waits(settings) -> None:
    MessageFactory.create_batch(3, sender_number=SENDER)

    deliver_messages_task.apply()

    assert len(locmem.outbox) == 3


@pytest.mark.django_db
def test_a_senders_own_rate_paces_it_when_the_default_is_off(user) -> None:
    SenderNumber.objects.create(account_id=user.account_id, value=SENDER, kind="phone", rate_per_second=0.5)
    MessageFactory.create_batch(2, account_id=user.account_id, sender_number=SENDER)

    deliver_messages_task.apply()

    assert len(locmem.outbox) == 1
    assert Message.objects.filter(status="queued", attempts=0).count() == 1


@pytest.mark.django_db
def test_a_held_message_is_sent_once_its_token_is_due(settings) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 5
    first, second = MessageFactory.create_batch(2, sender_number=SENDER)
    deliver_messages_task.apply()
    assert [sms.message_id for sms in locmem.outbox] == [first.message_id]

    time.sleep(0.25)
    deliver_messages_task.apply()

    assert [sms.message_id for sms in locmem.outbox] == [first.message_id, second.message_id]
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("sent", 1)


@pytest.mark.django_db
def test_a_retry_held_by_the_pace_keeps_its_attempt_count(settings) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 0.5
    first, second = MessageFactory.create_batch(2, sender_number=SENDER, attempts=1)

    deliver_message_task.apply(args=(first.pk,))
    deliver_message_task.apply(args=(second.pk,))

    assert [sms.message_id for sms in locmem.outbox] == [first.message_id]
    second.refresh_from_db()
    assert (second.status, second.attempts) == ("queued", 1)
    assert second.next_attempt_at > timezone.now() + timedelta(seconds=1)


@pytest.mark.django_db
def test_a_message_held_past_the_queue_age_fails_queue_timeout(settings, user_client, user) -> None:
    settings.MESSAGE_SENDER_RATE_PER_SECOND = 0.5
    settings.MESSAGE_MAX_QUEUE_AGE = 3600
    old = timezone.now() - timedelta(seconds=3599)
    first, second = MessageFactory.create_batch(2, sender_number=SENDER, created_at=old, account_id=user.account_id)

    deliver_messages_task.apply()

    second.refresh_from_db()
    assert (second.status, second.attempts, second.error_code) == ("failed", 0, "queue_timeout")
    assert user_client.get(f"/api/v1/messages/{second.message_id}/").json()["error_code"] == "queue_timeout"
    assert OutboxEvent.objects.filter(event_type="message.failed", aggregate_id=second.message_id).exists()
    first.refresh_from_db()
    assert first.status == "sent"


class TimedHandler(GatewayHandler):
    def do_POST(self) -> None:
        arrived = time.monotonic()
        super().do_POST()
        with self.server.lock:
            self.server.times.append(arrived)  # type: ignore[attr-defined]


@pytest.fixture
def timed_gateway(start_gateway) -> Gateway:
    """The bench's gateway (answers at once) recording when each send arrived."""
    gateway: Gateway = start_gateway(handler=TimedHandler)
    gateway.times = []  # type: ignore[attr-defined]
    return gateway


RATE = 10  # segments per second
SEGMENTS = 2  # per message: 5 messages a second
COUNT = 20


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_two_workers_share_one_senders_pace_in_segments(start_http_worker, timed_gateway, capsys) -> None:
    workers = [
        start_http_worker(timed_gateway, name=f"pace{n}@%h", MESSAGE_SENDER_RATE_PER_SECOND=str(RATE)) for n in (1, 2)
    ]
    warm_up_workers(workers, MessageFactory.create_batch(4))  # other senders, unpaced by each other
    timed_gateway.times.clear()

    paced = [_message_of(SEGMENTS, sender_number=SENDER) for _ in range(COUNT)]
    for _ in range(4):  # wake-ups on both workers at once: each claims what is due and takes tokens
        deliver_messages_task.delay()
    wait_until_sent(workers, [m.pk for m in paced], wake_every=BEAT_SWEEP_SECONDS)

    times = sorted(timed_gateway.times)
    span = times[-1] - times[0]
    interval = SEGMENTS / RATE  # between two messages of the sender
    with capsys.disabled():
        print(
            f"\n{COUNT} messages of {SEGMENTS} segments from one sender at {RATE} segments/s over two workers: "
            f"{span:.2f} s at the gateway"
        )
    assert len(times) == COUNT
    assert (COUNT - 1) * interval - 0.15 <= span <= 10
    # Never faster than the rate (burst 1): any k+1 consecutive sends span at least k messages' segments.
    for k in (1, 5, 10):
        assert min(times[i + k] - times[i] for i in range(COUNT - k)) >= k * interval - 0.1
    assert Message.objects.filter(pk__in=[m.pk for m in paced], attempts=1, status="sent").count() == COUNT


# How often beat's `deliver-due-messages` wakes the workers in a deployment (this test runs no beat).
BEAT_SWEEP_SECONDS = 5
