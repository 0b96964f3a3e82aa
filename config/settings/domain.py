"""The apps' own settings: SMS delivery and its gateway, status callbacks, the catalog, domain events, OIDC."""

from config.settings.celery import CELERY_QUEUE_PREFIX
from config.settings.env import env

SMS_BACKEND = env("SMS_BACKEND", default="apps.messages.backends.console.ConsoleBackend")
SMS_GATEWAY_URL = env("SMS_GATEWAY_URL", default="")
SMS_GATEWAY_TOKEN = env("SMS_GATEWAY_TOKEN", default="")
SMS_GATEWAY_TIMEOUT = env.float("SMS_GATEWAY_TIMEOUT", default=5.0)
# The CA bundle (PEM file) the gateway's certificate is checked against, from the variables requests reads;
# empty: certifi's bundle.
SMS_GATEWAY_CA_BUNDLE = env("REQUESTS_CA_BUNDLE", default="") or env("CURL_CA_BUNDLE", default="")
# The gateway signs its delivery receipts and inbound messages with this; empty refuses every one (401).
SMS_GATEWAY_RECEIPT_SECRET = env("SMS_GATEWAY_RECEIPT_SECRET", default="")
# Status callbacks: hosts that may be reached over http and at any address (local work, tests; never in production).
CALLBACK_ALLOWED_HOSTS = env.list("CALLBACK_ALLOWED_HOSTS", default=[])
# One deadline for a callback's whole exchange: DNS, connect, TLS, status line, headers, body.
CALLBACK_TIMEOUT_SECONDS = env.float("CALLBACK_TIMEOUT_SECONDS", default=5.0)
# Callback POSTs in flight at once per account: a slow receiver holds its own account's workers, not others'.
CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT = env.int("CALLBACK_MAX_IN_FLIGHT_PER_ACCOUNT", default=4)
# With in-process Celery (no broker): send callbacks inside the request that changed the status (tests), instead of
# leaving them to beat's sweeper (`make run` beside `make beat`), so a create never waits on a receiver.
CALLBACK_SEND_IN_PROCESS = env.bool("CALLBACK_SEND_IN_PROCESS", default=False)
# Sending messages and setting status callbacks need a verified email (an unverified sign-up is anyone's).
MESSAGES_REQUIRE_VERIFIED_EMAIL = env.bool("MESSAGES_REQUIRE_VERIFIED_EMAIL", default=True)
# Backoff doubles from this base up to an hour; 30 attempts from 30 s is about a day, then the callback gives up.
CALLBACK_RETRY_BACKOFF_SECONDS = env.float("CALLBACK_RETRY_BACKOFF_SECONDS", default=30.0)
CALLBACK_MAX_ATTEMPTS = env.int("CALLBACK_MAX_ATTEMPTS", default=30)
MESSAGE_MAX_RETRIES = env.int("MESSAGE_MAX_RETRIES", default=5)
# Accepted messages go to the workers in batches of up to this many, each batch's sends in flight at once.
MESSAGE_DELIVERY_BATCH_SIZE = env.int("MESSAGE_DELIVERY_BATCH_SIZE", default=100)
MESSAGE_RETRY_BACKOFF_SECONDS = env.float("MESSAGE_RETRY_BACKOFF_SECONDS", default=2.0)
MESSAGE_REQUEUE_AFTER_SECONDS = env.int("MESSAGE_REQUEUE_AFTER_SECONDS", default=60)
# Seconds an inbound text sent in parts waits for its missing parts before the reads show it `incomplete`.
INBOUND_PARTS_TIMEOUT_SECONDS = env.int("INBOUND_PARTS_TIMEOUT_SECONDS", default=300)
# A body longer than this many SMS segments is refused (400 too_many_segments).
MESSAGE_MAX_SEGMENTS = env.int("MESSAGE_MAX_SEGMENTS", default=10)
# Seconds a message may wait for the gateway (after send_at) when its create names no validity_period; at most 36000.
MESSAGE_DEFAULT_VALIDITY_SECONDS = min(env.int("MESSAGE_DEFAULT_VALIDITY_SECONDS", default=36_000), 36_000)
# Days a message's body is kept; unset: forever.
MESSAGE_BODY_RETENTION_DAYS = env.int("MESSAGE_BODY_RETENTION_DAYS", default=None)
# Senders: an account sends from the numbers and sender IDs it owns (admin-managed); true lets any sender through
# (local work and tests; production.py turns it off unless set).
MESSAGES_ALLOW_ANY_SENDER = env.bool("MESSAGES_ALLOW_ANY_SENDER", default=True)
# SMS segments per second per sender (a message takes one token per segment), shared by every worker (Redis;
# in-process without it); 0: unpaced. A sender's own rate (admin) overrides it. Burst: segments a sender may send at
# once before the pace applies.
MESSAGE_SENDER_RATE_PER_SECOND = env.float("MESSAGE_SENDER_RATE_PER_SECOND", default=0.0)
MESSAGE_SENDER_BURST = env.int("MESSAGE_SENDER_BURST", default=1)
# A message its sender's pace keeps waiting past this many seconds after its creation fails (`queue_timeout`).
MESSAGE_MAX_QUEUE_AGE = env.int("MESSAGE_MAX_QUEUE_AGE", default=3600)
# The service's answers to HELP and STOP when the account has set no text of its own (/accounts/me/messaging/).
MESSAGE_HELP_TEXT = env.str(
    "MESSAGE_HELP_TEXT",
    default="Reply STOP to unsubscribe from this number, STOPALL from all of ours, START to resubscribe.",
)
MESSAGE_STOP_CONFIRMATION_TEXT = env.str(
    "MESSAGE_STOP_CONFIRMATION_TEXT", default="You are unsubscribed. Reply START to resubscribe."
)
# Failover: a JSON list of {"name", "backend", "url"?, "token"?}, tried in order; empty: SMS_BACKEND alone.
SMS_BACKENDS = env.json("SMS_BACKENDS", default=[])
# A gateway with this many retryable failures within SMS_BACKEND_FAILURE_WINDOW_SECONDS is skipped for the
# cool-down, then one probe send decides (shared through the cache).
SMS_BACKEND_FAILURE_THRESHOLD = env.int("SMS_BACKEND_FAILURE_THRESHOLD", default=5)
SMS_BACKEND_FAILURE_WINDOW_SECONDS = env.int("SMS_BACKEND_FAILURE_WINDOW_SECONDS", default=60)
SMS_BACKEND_COOLDOWN_SECONDS = env.int("SMS_BACKEND_COOLDOWN_SECONDS", default=30)
IDEMPOTENCY_KEY_TTL_HOURS = env.int("IDEMPOTENCY_KEY_TTL_HOURS", default=24)
PRODUCTS_CACHE_TTL = env.int("PRODUCTS_CACHE_TTL", default=300)
DEFAULT_CURRENCY = env("DEFAULT_CURRENCY", default="USD")
EVENTS_BACKEND = env("EVENTS_BACKEND", default="amqp")
EVENTS_EXCHANGE = env("EVENTS_EXCHANGE", default=f"{CELERY_QUEUE_PREFIX}domain-events")
AWS_SNS_TOPIC_ARN = env("AWS_SNS_TOPIC_ARN", default="")
AWS_SNS_ENDPOINT_URL = env("AWS_SNS_ENDPOINT_URL", default="") or None
OIDC_PROVIDERS = env.json("OIDC_PROVIDERS", default=[])
# Seconds a provider's discovery document and keys are kept in the cache, and that one call to a provider may take.
OIDC_DISCOVERY_CACHE_SECONDS = env.int("OIDC_DISCOVERY_CACHE_SECONDS", default=60 * 60)
OIDC_HTTP_TIMEOUT = env.float("OIDC_HTTP_TIMEOUT", default=5.0)
