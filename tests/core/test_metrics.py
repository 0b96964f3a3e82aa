import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from apps.products.metrics import products_cache_hits_total


def test_metrics_parse_and_carry_request_and_domain_figures(api_client, db) -> None:
    api_client.get("/health/live/")
    products_cache_hits_total.inc()

    response = api_client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    for name in ("messages_created", "messages_delivered", "messages_failed", "products_cache_hits",
                 "products_cache_misses"):  # fmt: skip
        assert name in families, name
    assert "django_http_requests_latency_seconds_by_view_method" in families
    assert "django_http_responses_total_by_status_view_method" in families
    hits = [s.value for s in families["products_cache_hits"].samples if s.name == "products_cache_hits_total"]
    assert hits
    assert hits[0] >= 1


def test_metrics_refused_outside_allowed_networks(api_client, settings) -> None:
    settings.METRICS_ALLOWED_NETWORKS = ["10.1.0.0/16"]
    response = api_client.get("/metrics", REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 403
    assert response.json() == {"detail": "Metrics are not served to this network.", "code": "permission_denied"}


@pytest.mark.parametrize("address", ["10.1.2.3", "172.16.0.5", "192.168.1.10", "203.0.113.9"])
def test_metrics_are_loopback_only_by_default(api_client, address) -> None:
    assert api_client.get("/metrics", REMOTE_ADDR=address).status_code == 403


@pytest.mark.django_db
def test_metrics_answer_a_scraper_with_the_token_from_anywhere(api_client, settings) -> None:
    settings.METRICS_TOKEN = "scraper-token-for-this-test-only"
    allowed = api_client.get(
        "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer scraper-token-for-this-test-only"
    )
    wrong = api_client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION="Bearer another-token")

    assert allowed.status_code == 200
    assert wrong.status_code == 403


def test_request_series_keep_their_labels_bounded(api_client, db) -> None:
    def count(status: str, view: str, method: str) -> float:
        labels = {"status": status, "view": view, "method": method}
        return REGISTRY.get_sample_value("django_http_responses_total_by_status_view_method_total", labels) or 0.0

    before_live = count("200", "health-live", "GET")
    before_unknown = count("404", "<unnamed view>", "GET")
    before_invalid = count("405", "health-live", "<invalid method>")

    api_client.get("/health/live/")
    api_client.get("/api/v1/no-such-thing-here/")
    api_client.generic("BREW", "/health/live/")

    assert count("200", "health-live", "GET") == before_live + 1
    assert count("404", "<unnamed view>", "GET") == before_unknown + 1
    assert count("405", "health-live", "<invalid method>") == before_invalid + 1


@pytest.mark.broker
@pytest.mark.django_db
def test_metrics_show_each_celery_queues_depth_while_no_worker_consumes(api_client, real_broker, monkeypatch) -> None:
    from django.conf import settings

    from apps.core.observability import metrics

    monkeypatch.setattr(metrics, "QUEUE_DEPTH_CACHE_SECONDS", 0)
    real_broker.control.purge()
    prefix = settings.CELERY_QUEUE_PREFIX
    for _ in range(4):
        real_broker.send_task("apps.messages.tasks.deliver_message_task", args=(0,), queue=f"{prefix}critical")
    real_broker.send_task("apps.users.tasks.send_email_task", queue=f"{prefix}low")
    try:
        response = api_client.get("/metrics", REMOTE_ADDR="127.0.0.1")
    finally:
        real_broker.control.purge()

    families = {family.name: family for family in text_string_to_metric_families(response.content.decode())}
    depths = {sample.labels["queue"]: sample.value for sample in families["celery_queue_depth"].samples}
    assert depths == {f"{prefix}critical": 4, f"{prefix}default": 0, f"{prefix}low": 1}
