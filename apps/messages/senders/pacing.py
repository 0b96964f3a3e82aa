"""Per-sender pacing: a shared token bucket (GCRA) per sender, so every worker process together sends at most
`rate` messages per second from one sender, with `MESSAGE_SENDER_BURST` at once.

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

# KEYS[1]: the sender's key. ARGV: interval (s), burst tolerance (s). Returns 0 and takes a token, or the seconds
# (as a string: Lua numbers are truncated to integers on the way back) until one is due.
GCRA_SCRIPT = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return tostring(wait) end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return '0'
"""

_local_lock = threading.Lock()
_local_buckets: dict[str, float] = {}


@dataclass(frozen=True)
class Pace:
    rate: float  # sends per second
    burst: int

    @property
    def interval(self) -> float:
        return 1.0 / self.rate

    @property
    def tolerance(self) -> float:
        return (self.burst - 1) * self.interval


def sender_paces(senders: Iterable[str]) -> dict[str, Pace]:
    """The pace of each sender that has one: its own rate (admin), else MESSAGE_SENDER_RATE_PER_SECOND; unpaced
    senders are absent."""
    senders = set(senders)
    default = settings.MESSAGE_SENDER_RATE_PER_SECOND
    own = sender_rates(senders) if senders else {}
    burst = max(1, settings.MESSAGE_SENDER_BURST)
    paces = {sender: Pace(rate=own.get(sender, default), burst=burst) for sender in senders}
    return {sender: pace for sender, pace in paces.items() if pace.rate > 0}


def take_token(sender: str, pace: Pace) -> float:
    """Take one send from `sender`'s bucket: 0.0 when taken, else the seconds until a token is due (none taken)."""
    if settings.REDIS_URL:
        return _take_shared(sender, pace)
    return _take_local(sender, pace)


def _take_shared(sender: str, pace: Pace) -> float:
    from django_redis import get_redis_connection

    script = get_redis_connection("default").register_script(GCRA_SCRIPT)  # sends EVALSHA, loads it once
    key = cache.make_key(f"messages:sender-pace:{sender}")
    return float(script(keys=[key], args=[repr(pace.interval), repr(pace.tolerance)]))


def _take_local(sender: str, pace: Pace) -> float:
    now = time.monotonic()
    with _local_lock:
        tat = max(_local_buckets.get(sender, now), now)
        wait = tat - pace.tolerance - now
        if wait > 0:
            return wait
        _local_buckets[sender] = tat + pace.interval
        return 0.0


@dataclass(frozen=True)
class PacedBatch:
    ready: list[Message]  # to send now
    waiting: list[tuple[Message, float]]  # each with the seconds until its turn
    paced: bool  # some sender in the batch has a pace


def pace_messages(messages: list[Message]) -> PacedBatch:
    """Split a batch into the messages whose sender had a token now (to send) and the others, each with the
    seconds until its turn: the first refused message of a sender waits for the next token, the ones behind it in
    the batch one interval more each (they ask for their token again when due)."""
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
            wait = take_token(sender, pace)
            if wait <= 0:
                ready.append(message)
                continue
        waiting.append((message, wait))
        next_wait[sender] = wait + pace.interval
    return PacedBatch(ready=ready, waiting=waiting, paced=bool(paces))
