"""One beat in a fleet: every beat process may run, only the holder of a lease in Redis sends scheduled tasks.

celery-redbeat provides the lease (a redis-py lock the holder extends on every tick, which expires when the holder
dies) and keeps the schedule's last-run times in Redis, so the beat that takes over knows what is due. Its own
start-up hook waits for the lock inside one blocking call; this module's hook waits in a loop instead, so a waiting
beat also writes its heartbeat, which `manage.py beat_alive` (the container's liveness check) reads. Without Redis
(one host: `make beat`) the plain file scheduler runs, with the same heartbeat.
"""

import json
import time
from pathlib import Path
from typing import Any

from celery.beat import PersistentScheduler
from celery.signals import beat_init
from celery.utils.log import get_logger
from django.conf import settings
from redbeat import RedBeatScheduler
from redbeat.schedulers import LUA_EXTEND_TO_SCRIPT, acquire_distributed_beat_lock, get_redis

logger = get_logger(__name__)

HOLDER, WAITING = "holder", "waiting"

beat_init.disconnect(acquire_distributed_beat_lock)


def write_heartbeat(state: str) -> None:
    """Say, in this host's heartbeat file, that this beat is alive and whether it holds the lease."""
    path = Path(settings.BEAT_HEARTBEAT_FILE)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"state": state, "time": time.time()}))
    partial.replace(path)


def read_heartbeat() -> dict[str, Any] | None:
    try:
        return json.loads(Path(settings.BEAT_HEARTBEAT_FILE).read_text())
    except (OSError, ValueError):
        return None


class LeasedScheduler(RedBeatScheduler):
    """RedBeat's scheduler; each tick renews the lease (RedBeat extends the lock) and the heartbeat."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        write_heartbeat(HOLDER)
        return interval


class HeartbeatScheduler(PersistentScheduler):
    """Celery's file scheduler, for one host without Redis, with the heartbeat `beat_alive` reads."""

    def tick(self, *args: Any, **kwargs: Any) -> float:
        interval = super().tick(*args, **kwargs)
        write_heartbeat(HOLDER)
        return interval


@beat_init.connect
def wait_for_the_lease(sender: Any = None, **_: Any) -> None:
    scheduler = sender.scheduler
    if not isinstance(scheduler, LeasedScheduler):
        return
    client = get_redis(scheduler.app)
    lock = client.lock(scheduler.lock_key, timeout=scheduler.lock_timeout)
    # RedBeat's extend script: renew to a full lease, not by adding one to what is left.
    lock.lua_extend = client.register_script(LUA_EXTEND_TO_SCRIPT)
    while not lock.acquire(blocking=False):
        write_heartbeat(WAITING)
        time.sleep(scheduler.max_interval)
    logger.info("beat: holding the lease %s", scheduler.lock_key)
    scheduler.lock = lock
    write_heartbeat(HOLDER)
