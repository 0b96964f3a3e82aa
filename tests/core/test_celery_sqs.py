"""Celery on SQS (kombu's SQS transport) against moto's server: messages created through the API are delivered by a
real worker, one SQS queue per priority. Needs pycurl (kombu's SQS consumer polls through it)."""

import os
import subprocess
import sys
import time

import pytest
from rest_framework_simplejwt.tokens import RefreshToken

from apps.messages.models import Message
from bench.http import json_call
from tests.conftest import database_url
from tests.core.test_aws import CREDENTIALS, start_moto
from tests.helpers.processes import BASE_DIR, free_port, project_env, stop, wait_for_http
from tests.users.factories import UserFactory

pycurl = pytest.importorskip("pycurl", reason="kombu's SQS transport needs pycurl (requirements/local.txt)")
pytestmark = [pytest.mark.postgres, pytest.mark.worker, pytest.mark.slow]
MESSAGES = 5


def test_messages_created_through_the_api_are_sent_by_a_worker_on_sqs(transactional_db, tmp_path, settings) -> None:
    moto = start_moto(tmp_path / "moto")
    host_port = moto.endpoint.removeprefix("http://")
    port = free_port()
    env = project_env(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=f"sqs://{CREDENTIALS['aws_access_key_id']}:{CREDENTIALS['aws_secret_access_key']}@{host_port}",
        CELERY_TASK_ALWAYS_EAGER="false",
        CELERY_SQS_WAIT_TIME_SECONDS="1",
        LOG_DIR=str(tmp_path / "logs"),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="1",
        GUNICORN_THREADS="2",
    )
    processes = []
    try:
        for command in (
            [sys.executable, "-m", "celery", "-A", "config", "worker", "-c", "2", "--loglevel=WARNING",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"sqs-{os.getpid()}@%h"],
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            # Beat, as every deployment runs it: its sweep wakes the workers every few seconds, so a wake-up whose
            # publish failed (a slow first connection to the queue) delays delivery instead of stranding it.
            [sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel=WARNING",
             "--schedule", str(tmp_path / "beat-schedule")],
        ):  # fmt: skip
            processes.append(subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True))
        base = f"http://127.0.0.1:{port}"
        wait_for_http(f"{base}/health/live/", timeout=60, process=processes[1])

        token = str(RefreshToken.for_user(UserFactory()).access_token)
        created = []
        for n in range(MESSAGES):
            body = {"sender_number": "+15551230001", "receiver_number": f"+4420794610{n:02d}", "body": f"sqs {n}"}
            status, answer = json_call(base, "POST", "/api/v1/messages/", body, token, timeout=10)
            assert status == 201, answer
            created.append(answer["message_id"])

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if Message.objects.filter(message_id__in=created, status="sent").count() == MESSAGES:
                break
            assert all(process.poll() is None for process in processes), "a process exited"
            time.sleep(0.5)
        assert (
            sorted(Message.objects.filter(message_id__in=created).values_list("status", "attempts"))
            == [("sent", 1)] * MESSAGES
        )

        queues = moto.client("sqs").list_queues()["QueueUrls"]
        names = {url.rsplit("/", 1)[-1] for url in queues}
        prefix = settings.CELERY_QUEUE_PREFIX
        assert {f"{prefix}critical"} <= names, "delivery went through the critical queue"
        assert not names - {f"{prefix}{name}" for name in ("critical", "default", "low")}, names
    finally:
        for process in processes:
            stop(process)
        stop(moto.process)
