"""AWS against moto's standalone server, started here on a spare 127.0.0.1 port: product images in S3 through
django-storages, and the outbox relayed to an SNS topic (EVENTS_BACKEND=sns) that an SQS queue subscribes to."""

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from apps.core.models import OutboxEvent
from apps.core.outbox.events import Priority, publish_event
from apps.core.outbox.services import event_envelope, relay_pending_events
from tests.helpers.processes import BASE_DIR, free_port, project_env, run_python, stop, wait_for_http

REGION = "us-east-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@dataclass
class Moto:
    process: subprocess.Popen
    endpoint: str

    def client(self, service: str) -> Any:
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, **CREDENTIALS)


def start_moto(directory: Path, port: int | None = None) -> Moto:
    directory.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    with (directory / f"moto-{port}.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            cwd=BASE_DIR,
            env=project_env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{endpoint}/moto-api/data.json", timeout=60, process=process)
    except Exception:
        stop(process)
        raise
    return Moto(process=process, endpoint=endpoint)


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    server = start_moto(tmp_path_factory.mktemp("moto"))
    yield server
    stop(server.process)


@pytest.fixture
def aws_settings(settings, moto: Moto):
    settings.AWS_ACCESS_KEY_ID = CREDENTIALS["aws_access_key_id"]
    settings.AWS_SECRET_ACCESS_KEY = CREDENTIALS["aws_secret_access_key"]
    settings.AWS_REGION_NAME = REGION
    settings.AWS_S3_REGION_NAME = REGION
    return settings


# --- S3: product images ------------------------------------------------------------------------------------------


def storage_settings(**env: str) -> dict[str, Any]:
    """The default storage a process started with `env` ends up with (settings apply at start-up)."""
    code = (
        "import django, json; django.setup()\n"
        "from django.conf import settings\n"
        "from django.core.files.storage import default_storage as s\n"
        "config = settings.AWS_S3_CLIENT_CONFIG\n"
        "print(json.dumps({\n"
        "    'backend': settings.STORAGES['default']['BACKEND'],\n"
        "    'bucket': getattr(s, 'bucket_name', None),\n"
        "    'endpoint': getattr(s, 'endpoint_url', None),\n"
        "    'signed': getattr(s, 'querystring_auth', None),\n"
        "    'client': [config.connect_timeout, config.read_timeout, config.signature_version],\n"
        "}))\n"
    )
    result = run_python(code, env=project_env(DJANGO_SETTINGS_MODULE="config.settings.local", **env))
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_bucket_setting_moves_the_default_storage_to_s3() -> None:
    assert storage_settings(AWS_STORAGE_BUCKET_NAME="catalog-images", AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000") == {
        "backend": "storages.backends.s3.S3Storage",
        "bucket": "catalog-images",
        "endpoint": "http://127.0.0.1:9000",
        "signed": True,
        "client": [3.0, 10.0, "s3v4"],
    }
    assert storage_settings(AWS_STORAGE_BUCKET_NAME="")["backend"] == "django.core.files.storage.FileSystemStorage"


@pytest.fixture
def bucket(aws_settings, moto: Moto) -> str:
    """A fresh bucket at moto, and the default storage pointed at it, as AWS_STORAGE_BUCKET_NAME does."""
    name = f"images-{uuid.uuid4().hex[:12]}"
    moto.client("s3").create_bucket(Bucket=name)
    aws_settings.AWS_STORAGE_BUCKET_NAME = name
    aws_settings.AWS_S3_ENDPOINT_URL = moto.endpoint
    aws_settings.STORAGES = {**aws_settings.STORAGES, "default": {"BACKEND": "storages.backends.s3.S3Storage"}}
    return name


def png() -> bytes:
    buffer = BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(buffer, "PNG")
    return buffer.getvalue()


def test_an_uploaded_image_lands_in_the_bucket_and_its_url_serves_it(bucket, moto, admin_client) -> None:
    assert admin_client.post("/api/v1/categories/", {"slug": "tools", "name": "Tools"}).status_code == 201
    created = admin_client.post(
        "/api/v1/products/", {"sku": "HAM-001", "name": "Claw hammer", "category": "tools", "price": "19.99"}
    )
    assert created.status_code == 201, created.content
    content = png()

    response = admin_client.put(
        f"/api/v1/products/{created.json()['id']}/image/",
        {"image": SimpleUploadedFile("photo.png", content, content_type="image/png")},
        format="multipart",
    )

    assert response.status_code == 200, response.content
    objects = moto.client("s3").list_objects_v2(Bucket=bucket)["Contents"]
    assert len(objects) == 1
    key = objects[0]["Key"]
    assert moto.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read() == content
    image_url = response.json()["image_url"]
    assert image_url.startswith(f"{moto.endpoint}/{bucket}/{key}?")  # pre-signed: the bucket stays private
    assert "X-Amz-Signature=" in urlparse(image_url).query
    served = requests.get(image_url, timeout=10)
    assert served.status_code == 200
    assert served.content == content


# --- SNS: the outbox relay ----------------------------------------------------------------------------------------


@dataclass
class Subscription:
    topic_arn: str
    queue_url: str


def subscribe_queue(moto: Moto, name: str) -> Subscription:
    """An SNS topic and an SQS queue subscribed to it with raw delivery (the envelope is the body, the SNS
    message attributes are the SQS ones)."""
    topic_arn = moto.client("sns").create_topic(Name=name)["TopicArn"]
    sqs = moto.client("sqs")
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    moto.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return Subscription(topic_arn=topic_arn, queue_url=queue_url)


def use_topic(settings, moto: Moto, subscription: Subscription) -> None:
    settings.EVENTS_BACKEND = "sns"
    settings.AWS_SNS_TOPIC_ARN = subscription.topic_arn
    settings.AWS_SNS_ENDPOINT_URL = moto.endpoint


def receive(moto: Moto, queue_url: str, count: int, timeout: float = 10) -> list[dict[str, Any]]:
    sqs = moto.client("sqs")
    received: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(received) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=10,
            WaitTimeSeconds=1,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["All"],
        )
        received.extend(answer.get("Messages", []))
    return received


@pytest.fixture
def subscription(aws_settings, moto: Moto) -> Subscription:
    subscribed = subscribe_queue(moto, f"events-{uuid.uuid4().hex[:12]}")
    use_topic(aws_settings, moto, subscribed)
    return subscribed


def attributes(message: dict[str, Any]) -> dict[str, str]:
    return {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}


@pytest.mark.django_db
def test_events_reach_a_subscribed_queue_with_the_envelope_and_their_priority(moto, subscription) -> None:
    low = publish_event("test.sns.low", {"n": 1}, priority=Priority.LOW, aggregate_type="thing", aggregate_id="a")
    critical = publish_event("test.sns.critical", {"n": 2}, priority=Priority.CRITICAL)

    assert relay_pending_events() == 2

    messages = receive(moto, subscription.queue_url, 2)
    by_type = {json.loads(message["Body"])["type"]: message for message in messages}
    assert set(by_type) == {"test.sns.low", "test.sns.critical"}
    low.refresh_from_db()
    assert json.loads(by_type["test.sns.low"]["Body"]) == {
        "id": low.event_id,
        "type": "test.sns.low",
        "time": low.created_at.isoformat(),
        "version": 1,
        "priority": "low",
        "aggregate": {"type": "thing", "id": "a"},
        "payload": {"n": 1},
    }
    assert attributes(by_type["test.sns.low"]) == {"priority": "low", "event_type": "test.sns.low"}
    assert attributes(by_type["test.sns.critical"]) == {"priority": "critical", "event_type": "test.sns.critical"}
    assert json.loads(by_type["test.sns.critical"]["Body"]) == event_envelope(critical)
    assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()


@pytest.mark.django_db
def test_with_the_endpoint_down_events_stay_pending_and_go_out_once_it_is_back(aws_settings, tmp_path) -> None:
    port = free_port()
    server = start_moto(tmp_path, port)
    try:
        name = f"events-{uuid.uuid4().hex[:12]}"
        use_topic(aws_settings, server, subscribe_queue(server, name))
        stop(server.process)  # the endpoint goes down

        first = publish_event("test.sns.outage", {"n": 1}, priority=Priority.HIGH)
        second = publish_event("test.sns.outage", {"n": 2}, priority=Priority.HIGH)
        assert relay_pending_events() == 0
        for event in (first, second):
            event.refresh_from_db()
            assert event.published_at is None
            assert event.last_error

        server = start_moto(tmp_path, port)  # back on the same address; moto starts empty, so set up again
        subscription = subscribe_queue(server, name)
        assert relay_pending_events() == 2

        messages = receive(server, subscription.queue_url, 2)
        assert [json.loads(message["Body"])["payload"] for message in messages] == [{"n": 1}, {"n": 2}]
        assert {attributes(message)["priority"] for message in messages} == {"high"}
        assert not OutboxEvent.objects.filter(published_at__isnull=True).exists()
    finally:
        stop(server.process)


@pytest.mark.django_db
def test_a_fifo_topic_keeps_each_aggregate_in_order_and_deduplicates(aws_settings, moto) -> None:
    name = f"events-{uuid.uuid4().hex[:12]}.fifo"
    topic_arn = moto.client("sns").create_topic(Name=name, Attributes={"FifoTopic": "true"})["TopicArn"]
    sqs = moto.client("sqs")
    queue_url = sqs.create_queue(QueueName=name, Attributes={"FifoQueue": "true"})["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    moto.client("sns").subscribe(
        TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"}
    )
    use_topic(aws_settings, moto, Subscription(topic_arn=topic_arn, queue_url=queue_url))
    events = [publish_event("test.sns.fifo", {"n": n}, aggregate_type="thing", aggregate_id="7") for n in range(3)]

    assert relay_pending_events() == 3

    messages = receive(moto, queue_url, 3)
    assert [json.loads(message["Body"])["id"] for message in messages] == [event.event_id for event in events]
    assert {message["Attributes"]["MessageGroupId"] for message in messages} == {"thing:7"}
    assert [message["Attributes"]["MessageDeduplicationId"] for message in messages] == [e.event_id for e in events]


@pytest.mark.django_db
def test_sns_without_a_topic_keeps_events_pending_and_says_why(settings) -> None:
    settings.EVENTS_BACKEND = "sns"
    settings.AWS_SNS_TOPIC_ARN = ""
    event = publish_event("test.sns.unconfigured", {"n": 1})

    assert relay_pending_events() == 0

    event.refresh_from_db()
    assert (event.published_at, event.last_error) == (None, "EVENTS_BACKEND=sns needs AWS_SNS_TOPIC_ARN")
