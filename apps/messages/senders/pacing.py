"""Per-sender pacing: a shared token bucket (GCRA) per sender, so every worker process together sends at most
`rate` segments per second from one sender, with `MESSAGE_SENDER_BURST` at once. Gateways limit a sender's SMS
parts, not its messages: a message takes one token per segment. It leaves once its sender's bucket holds that many
(at most the burst: a message longer than the burst leaves from a full bucket, and the sender's next message waits
until the bucket has refilled the rest).

Written here, not taken from `limits`: that library offers fixed, moving and sliding windows, none of which answers
"when is the next token due" for a smooth pace. With Redis (REDIS_URL) the bucket is one key per sender, updated by
a Lua script on Redis' own clock, so every process and host shares it. Without Redis (embedded `make run`, tests
without servers) the buckets are this process's `_local_buckets` (sender → theoretical arrival time, under
`_local_lock`; never invalidated, entries are a float each): one process is the whole deployment there.
"""

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache

from ..models import Message
from ..selectors import sender_rates

# KEYS[1]: the sender's key. ARGV: the seconds the tokens taken are worth, how far (s) the bucket's theoretical
# arrival time may run ahead of now for them to be there. Returns 0 and takes them, or the seconds (as a string: Lua
# numbers are truncated to integers on the way back) until they are due.
GCRA_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local increment = tonumber(ARGV[1])
local slack = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - slack - now
if wait > 0 then return tostring(wait) end
local new_tat = tat + increment
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""

_local_lock = threading.Lock()
_local_buckets: dict[str, float] = {}


@dataclass(frozen=True)
class Pace:
    rate: float  # segments per second
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    def slack(self, tokens: int) -> float:
        """How far ahead of now the bucket's theoretical arrival time may be while it still holds `tokens` (at most
        the burst: more never fit, and waiting for them would never end)."""
        return (self.burst - min(tokens, self.burst)) * self.interval


def sender_paces(senders: Iterable[str]) -> dict[str, Pace]:
    """The pace of each sender that has one: its own rate (admin), else MESSAGE_SENDER_RATE_PER_SECOND; unpaced
    senders are absent."""
    senders = set(senders)
    default = settings.MESSAGE_SENDER_RATE_PER_SECOND
    own = sender_rates(senders) if senders else {}
    burst = max(1, settings.MESSAGE_SENDER_BURST)
    paces = {sender: Pace(rate=own.get(sender, default), burst=burst) for sender in senders}
    return {sender: pace for sender, pace in paces.items() if pace.rate > 0}


def take_tokens(sender: str, pace: Pace, tokens: int) -> float:
    """Take `tokens` (a message's segments) from `sender`'s bucket: 0.0 when taken, else the seconds until they are
    due (none taken)."""
    tokens = max(1, tokens)
    if settings.REDIS_URL:
        return _take_shared(sender, pace, tokens)
    return _take_local(sender, pace, tokens)


def _take_shared(sender: str, pace: Pace, tokens: int) -> float:
    from django_redis import get_redis_connection

    script = get_redis_connection("default").register_script(GCRA_SCRIPT)  # sends EVALSHA, loads it once
    key = cache.make_key(f"messages:sender-pace:{sender}")
    return float(script(keys=[key], args=[repr(tokens * pace.interval), repr(pace.slack(tokens))]))


def _take_local(sender: str, pace: Pace, tokens: int) -> float:
    now = time.monotonic()
    with _local_lock:
        tat = max(_local_buckets.get(sender, now), now)
        wait = tat - pace.slack(tokens) - now
        if wait > 0:
            return wait
        _local_buckets[sender] = tat + tokens * pace.interval
        return 0.0


@dataclass(frozen=True)
class PacedBatch:
    ready: list[Message]  # to send now
    waiting: list[tuple[Message, float]]  # each with the seconds until its turn
    paced: bool  # some sender in the batch has a pace


def pace_messages(messages: list[Message]) -> PacedBatch:
    """Split a batch into the messages whose sender had their segments' tokens now (to send) and the others, each
    with the seconds until its turn: the first refused message of a sender waits until its tokens are due, each
    one behind it in the batch as long again as the segments ahead of it take (they ask for their tokens again
    when due)."""
    paces = sender_paces(message.sender_number for message in messages)
    ready: list[Message] = []
    waiting: list[tuple[Message, float]] = []
    next_wait: dict[str, float] = {}  # sender → the wait of its next refused message in this batch
    for message in messages:
        sender = message.sender_number
        pace = paces.get(sender)
        if pace is None:
            ready.append(message)
            continue
        wait = next_wait.get(sender)
        if wait is None:
            wait = take_tokens(sender, pace, message.segments)
            if wait <= 0:
                ready.append(message)
                continue
        waiting.append((message, wait))
        next_wait[sender] = wait + message.segments * pace.interval
    return PacedBatch(ready=ready, waiting=waiting, paced=bool(paces))
