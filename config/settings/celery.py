"""Celery: the broker, task limits and acknowledgements, the queues and their routes, the beat schedule."""

import tempfile
from pathlib import Path

from kombu import Exchange, Queue

from config.settings.env import env
from config.settings.storage import AWS_REGION_NAME

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
# No broker configured: every task runs in-process, right where it is enqueued (after the commit).
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
if CELERY_TASK_ALWAYS_EAGER:
    # With a host named: kombu warns "No hostname was supplied" when a bare memory:// connection is described.
    CELERY_BROKER_URL = "memory://localhost/"
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_TIMEZONE = "UTC"
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=60)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=90)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# Each worker process holds up to 4 unacknowledged tasks, so it never waits for the broker between two short tasks
# (1 left the processes idle between deliveries: about 7 % slower, measured with the bench's delivery case). With
# late acks a task a dead worker held goes back to the queue.
# A fleet whose tasks can hang sets 1 (docker-compose.yml does): a stuck process then holds one task, not four.
CELERY_WORKER_PREFETCH_MULTIPLIER = env.int("CELERY_WORKER_PREFETCH_MULTIPLIER", default=4)
# Celery's Django fixup closes the database connection before and after every task unless this is set, and then a
# task spends more time connecting than working. It is set, and config/celery.py closes a connection at task
# boundaries only when Django would between requests (CONN_MAX_AGE passed, or it failed its health check).
CELERY_DB_REUSE_MAX = 1_000_000
CELERY_BROKER_CONNECTION_TIMEOUT = env.float("CELERY_BROKER_CONNECTION_TIMEOUT", default=1.0)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A publish while the broker is down fails fast instead of retrying inside the web request.
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
    "max_retries": 0,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
if CELERY_BROKER_URL.startswith("sqs://"):
    # kombu's SQS transport (README, "Celery on SQS"): one SQS queue per Celery queue, named as above.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "region": AWS_REGION_NAME or "us-east-1",
        # Longer than the longest task (CELERY_TASK_TIME_LIMIT) and the longest retry countdown.
        "visibility_timeout": env.int("CELERY_SQS_VISIBILITY_TIMEOUT", default=3600),
        "wait_time_seconds": env.int("CELERY_SQS_WAIT_TIME_SECONDS", default=10),
        "polling_interval": 1,
    }
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1, "interval_max": 0.1}
# Prefixes every queue and exchange name (tasks, control, events, domain events): deployments that share a
# RabbitMQ vhost (staging beside production, two test runs) never take each other's tasks.
CELERY_QUEUE_PREFIX = env("CELERY_QUEUE_PREFIX", default="")
CELERY_TASK_DEFAULT_QUEUE = f"{CELERY_QUEUE_PREFIX}default"
CELERY_TASK_DEFAULT_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = CELERY_TASK_DEFAULT_QUEUE
CELERY_CONTROL_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celery"
CELERY_EVENT_EXCHANGE = f"{CELERY_QUEUE_PREFIX}celeryev"
CELERY_TASK_QUEUE_MAX_PRIORITY = 10
CELERY_TASK_DEFAULT_PRIORITY = 5
# Every queue supports AMQP priorities; a worker started without -Q (`make worker`, docker-compose) consumes all.
CELERY_TASK_QUEUES = [
    Queue(name, Exchange(name), routing_key=name, queue_arguments={"x-max-priority": CELERY_TASK_QUEUE_MAX_PRIORITY})
    for name in (f"{CELERY_QUEUE_PREFIX}{queue}" for queue in ("critical", "default", "low"))
]
CELERY_TASK_ROUTES = {
    # Exact names are matched before the patterns: status callbacks leave the delivery queue to deliveries.
    "apps.messages.tasks.send_status_callback_task": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
    "apps.messages.tasks.sweep_status_callbacks_task": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
    "apps.messages.tasks.expire_messages_task": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
    "apps.messages.tasks.redact_message_bodies_task": {"queue": f"{CELERY_QUEUE_PREFIX}low"},
    "apps.messages.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}critical"},
    "apps.users.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}low"},
    "apps.core.tasks.*": {"queue": f"{CELERY_QUEUE_PREFIX}default"},
}
CELERY_BEAT_SCHEDULE = {
    # The outbox sweeper: publishes whatever the on-commit trigger could not (broker down, worker crash).
    "relay-outbox": {"task": "apps.core.tasks.relay_outbox_task", "schedule": 5.0},
    "prune-outbox": {"task": "apps.core.tasks.prune_outbox_task", "schedule": 60.0 * 60 * 6},
    # A wake-up for the messages due for their first attempt that no create's wake-up claimed (the broker was down,
    # the web process died right after the commit): the longest a committed message waits for a worker.
    "deliver-due-messages": {"task": "apps.messages.tasks.deliver_messages_task", "schedule": 5.0},
    # The last resort for a retry whose task was lost (the broker was down when it was due): re-enqueued one by one.
    "requeue-stale-messages": {"task": "apps.messages.tasks.requeue_stale_messages_task", "schedule": 30.0},
    # Idempotency keys older than IDEMPOTENCY_KEY_TTL_HOURS no longer count; this deletes them.
    "prune-idempotency-keys": {"task": "apps.messages.tasks.prune_idempotency_keys_task", "schedule": 60.0 * 60},
    # Status callbacks whose task was lost (broker down at the status change) or is overdue.
    "sweep-status-callbacks": {"task": "apps.messages.tasks.sweep_status_callbacks_task", "schedule": 30.0},
    # Inbound texts still missing parts after INBOUND_PARTS_TIMEOUT_SECONDS are shown `incomplete`.
    "end-incomplete-inbound": {"task": "apps.messages.tasks.end_incomplete_inbound_task", "schedule": 30.0},
    # Messages not handed to the gateway by their expires_at end `expired` (deliveries check it too).
    "expire-messages": {"task": "apps.messages.tasks.expire_messages_task", "schedule": 15.0},
    # Bodies past MESSAGE_BODY_RETENTION_DAYS, or final ones whose create asked it, become null.
    "redact-message-bodies": {"task": "apps.messages.tasks.redact_message_bodies_task", "schedule": 60.0},
}

# One beat sends the schedule (apps/core/background/beat.py): the holder of a lease in Redis, renewed every tick and
# taken over by a waiting beat once it expires; each beat's heartbeat file is what `manage.py beat_alive` reads.
BEAT_LEASE_SECONDS = env.int("BEAT_LEASE_SECONDS", default=30)
BEAT_HEARTBEAT_FILE = env("BEAT_HEARTBEAT_FILE", default="") or str(
    Path(tempfile.gettempdir()) / "celerybeat-heartbeat"
)
CELERY_BEAT_MAX_LOOP_INTERVAL = max(1, BEAT_LEASE_SECONDS // 5)  # renewed several times in every lease
if env("REDIS_URL", default=""):
    CELERY_BEAT_SCHEDULER = "apps.core.background.beat:LeasedScheduler"
    CELERY_REDBEAT_REDIS_URL = env("REDIS_URL")
    CELERY_REDBEAT_KEY_PREFIX = f"{CELERY_QUEUE_PREFIX}redbeat"
    CELERY_REDBEAT_LOCK_TIMEOUT = BEAT_LEASE_SECONDS
else:
    CELERY_BEAT_SCHEDULER = "apps.core.background.beat:HeartbeatScheduler"
