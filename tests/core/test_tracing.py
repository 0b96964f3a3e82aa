"""Tracing and error reporting: off by default (nothing imported); with an OTLP endpoint one trace runs from the
create request through the Celery worker's delivery and status callback tasks; with a DSN errors reach Sentry."""

import json
import os
import time

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from apps.messages.models import CallbackSettings, Message
from tests.conftest import database_url
from tests.helpers.otlp import otlp_collector, sentry_receiver
from tests.helpers.processes import project_env, run_python
from tests.helpers.receiver import receiver
from tests.users.factories import UserFactory

WAIT_SECONDS = 60
CALLBACK_RUN = "run/apps.messages.tasks.send_status_callback_task"

CREATE_ONE = """
import django, json, time
django.setup()
from django.test import Client
answer = Client().post(
    "/api/v1/messages/",
    {"sender_number": "+15551230001", "receiver_number": "+442079460958", "body": "traced", "status_callback": "%s"},
    content_type="application/json",
    HTTP_AUTHORIZATION="Bearer %s",
    HTTP_X_REQUEST_ID="trace-test-request-1",
)
time.sleep(0.5)
print(json.dumps({"status": answer.status_code, "body": json.loads(answer.content)}))
"""


OFF_BY_DEFAULT = """
import django, sys
django.setup()
import config.celery
from django.test import Client
client = Client()
statuses = [client.get("/health/live/").status_code, client.get("/api/v1/messages/").status_code]
loaded = sorted(name for name in sys.modules if name.partition(".")[0] in ("opentelemetry", "sentry_sdk"))
print(statuses, loaded)
"""


@pytest.mark.parametrize("settings_module", ["config.settings.local", "config.settings.test"])
def test_off_by_default_neither_library_is_imported(settings_module) -> None:
    # Not even the OpenTelemetry API: what is never imported costs nothing (the bench compares against an instance
    # where neither package can be imported).
    result = run_python(OFF_BY_DEFAULT, env=project_env(DJANGO_SETTINGS_MODULE=settings_module))

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().splitlines()[-1] == "[200, 401] []"


SENTRY_CRASH = """
import django
django.setup()
import sentry_sdk
from django.conf import settings
from django.test import Client
settings.ROOT_URLCONF = "tests.core.urls_for_errors"
answer = Client(raise_request_exception=False).get(
    "/plain-crash/", HTTP_COOKIE="theme=cookie-value-1", HTTP_AUTHORIZATION="Bearer token-value-1"
)
sentry_sdk.flush(timeout=10)
print(answer.status_code)
"""


def test_with_a_dsn_errors_reach_sentry_without_personal_data(tmp_path) -> None:
    with sentry_receiver() as envelopes:
        dsn = f"http://public@127.0.0.1:{envelopes.port}/1"
        env = project_env(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
            SENTRY_DSN=dsn,
        )
        result = run_python(SENTRY_CRASH, env=env)

    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "500"
    events = [item for envelope in envelopes.received for item in envelope if item.get("exception")]
    assert events, envelopes.received
    (exception,) = events[0]["exception"]["values"][-1:]
    assert (exception["type"], exception["value"]) == ("RuntimeError", "secret internals that must not leak")
    sent = json.dumps(envelopes.received)
    assert "cookie-value-1" not in sent
    assert "token-value-1" not in sent
    assert "user" not in events[0] or "ip_address" not in events[0]["user"]
    assert all("vars" not in frame for frame in exception["stacktrace"]["frames"])


@pytest.mark.postgres
@pytest.mark.broker
@pytest.mark.worker
@pytest.mark.slow
def test_one_trace_spans_the_create_request_the_delivery_and_the_callback(start_celery_worker) -> None:
    user = UserFactory()
    CallbackSettings.objects.create(account_id=user.account_id, secret="whsec_tracing")
    token = str(RefreshToken.for_user(user).access_token)
    with otlp_collector() as collector, receiver() as hook:
        tracing_env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "CALLBACK_ALLOWED_HOSTS": "127.0.0.1",
        }
        worker = start_celery_worker(OTEL_SERVICE_NAME="worker", **tracing_env)
        web_env = project_env(
            DJANGO_SETTINGS_MODULE="config.settings.test",
            DATABASE_URL=database_url(),
            REDIS_URL=os.environ.get("REDIS_URL", ""),
            CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
            CELERY_TASK_ALWAYS_EAGER="false",
            OTEL_SERVICE_NAME="web",
            **tracing_env,
        )
        result = run_python(CREATE_ONE % (hook.url, token), env=web_env)
        assert result.returncode == 0, result.stderr[-3000:]
        created = json.loads(result.stdout.strip().splitlines()[-1])
        assert created["status"] == 201, created
        message_id = created["body"]["message_id"]

        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            assert worker.poll() is None, "the worker exited"
            request = [s for s in collector.spans if s.service == "web" and s.attributes.get("request.id")]
            delivered = Message.objects.filter(message_id=message_id, status="sent").exists()
            runs = {s.name for s in collector.spans if s.service == "worker" and s.name.startswith("run/")}
            if request and delivered and CALLBACK_RUN in runs:
                break
            time.sleep(0.2)

    assert delivered
    (request_span,) = request
    assert request_span.attributes["request.id"] == "trace-test-request-1"
    trace = [s for s in collector.spans if s.trace_id == request_span.trace_id]
    assert {s.service for s in trace} == {"web", "worker"}
    names = {s.name for s in trace}
    assert {"run/apps.messages.tasks.deliver_messages_task", CALLBACK_RUN} <= names, names
    assert [json.loads(request.body)["status"] for request in hook.requests] == ["sent"]
    # The request's SQL is in the trace too (psycopg), under the request span.
    assert any(s.service == "web" and s.attributes.get("db.system") == "postgresql" for s in trace)
