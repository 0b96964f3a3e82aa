"""CELERY_QUEUE_PREFIX: two deployments on one RabbitMQ vhost, each with its own prefix, never take each other's
tasks. Each deployment here is a real worker with an SMS backend of its own, so a message's provider id says which
deployment sent it."""

import os
import time

import pytest

from apps.messages.models import Message
from tests.conftest import delete_broker_names
from tests.helpers.processes import project_env, run_python, stop
from tests.messages.factories import MessageFactory

pytestmark = [pytest.mark.postgres, pytest.mark.broker, pytest.mark.worker, pytest.mark.slow]
PER_DEPLOYMENT = 10
DEPLOYMENTS = {  # prefix suffix -> (SMS backend, the provider ids it gives)
    "a-": ("apps.messages.backends.locmem.LocmemBackend", "locmem-"),
    "b-": ("apps.messages.backends.console.ConsoleBackend", "console-"),
}


def _enqueue(prefix: str, message_pks: list[int]) -> None:
    """Send delivery tasks as a deployment with this prefix does (settings apply at start-up: another process)."""
    code = (
        "import django; django.setup()\n"
        "from apps.messages.tasks import deliver_message_task\n"
        f"for pk in {message_pks!r}: deliver_message_task.delay(pk)\n"
    )
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        CELERY_BROKER_URL=os.environ["CELERY_BROKER_URL"],
        CELERY_QUEUE_PREFIX=prefix,
        CELERY_TASK_ALWAYS_EAGER="false",
    )
    result = run_python(code, env=env)
    assert result.returncode == 0, result.stderr[-3000:]


def test_two_prefixed_workers_on_one_vhost_never_take_each_others_tasks(start_celery_worker, settings) -> None:
    prefixes = {suffix: f"{settings.CELERY_QUEUE_PREFIX}{suffix}" for suffix in DEPLOYMENTS}
    messages = {suffix: [MessageFactory().pk for _ in range(PER_DEPLOYMENT)] for suffix in DEPLOYMENTS}
    workers = []
    try:
        for suffix, (backend, _) in DEPLOYMENTS.items():
            # The local settings read SMS_BACKEND from the environment (the test settings fix it).
            workers.append(
                start_celery_worker(
                    DJANGO_SETTINGS_MODULE="config.settings.local",
                    DEBUG="false",
                    CELERY_QUEUE_PREFIX=prefixes[suffix],
                    SMS_BACKEND=backend,
                )
            )
        for suffix in DEPLOYMENTS:
            _enqueue(prefixes[suffix], messages[suffix])

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Message.objects.filter(status="queued").exists():
            time.sleep(0.2)
        for suffix, (_, provider_prefix) in DEPLOYMENTS.items():
            sent_by = Message.objects.filter(pk__in=messages[suffix]).values_list("status", "provider_message_id")
            assert {(status, provider_id.startswith(provider_prefix)) for status, provider_id in sent_by} == {
                ("sent", True)
            }, f"every task of deployment {suffix} was taken by its own worker"
    finally:
        for worker in workers:
            stop(worker)  # before their queues go, or they stop on a missing exchange
        for prefix in prefixes.values():
            delete_broker_names(prefix)
