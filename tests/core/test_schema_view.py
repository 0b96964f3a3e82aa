"""`/api/schema/` under a threaded server (`make run`, gthread workers): drf-spectacular's generation keeps global
state and is not thread-safe, so two first reads at once answered a 500 (AttributeError in its lazily loaded
extensions). Reads within one process generate one at a time."""

import threading
import time

from drf_spectacular.settings import spectacular_settings
from rest_framework.test import APIClient


def test_concurrent_schema_reads_generate_one_at_a_time(monkeypatch) -> None:
    generator_class = spectacular_settings.DEFAULT_GENERATOR_CLASS
    generate = generator_class.get_schema
    spans: list[tuple[float, float]] = []

    def slow_generate(self, *args, **kwargs):
        started = time.monotonic()
        time.sleep(0.2)  # long enough for the other read to arrive meanwhile
        schema = generate(self, *args, **kwargs)
        spans.append((started, time.monotonic()))
        return schema

    monkeypatch.setattr(generator_class, "get_schema", slow_generate)
    answers: list[int] = []

    def read() -> None:
        answers.append(APIClient().get("/api/schema/", {"format": "json"}).status_code)

    readers = [threading.Thread(target=read) for _ in range(2)]
    for reader in readers:
        reader.start()
    for reader in readers:
        reader.join()

    assert answers == [200, 200]
    (_, first_ended), (second_started, _) = sorted(spans)
    assert second_started >= first_ended
