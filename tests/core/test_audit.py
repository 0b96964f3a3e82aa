"""The audit trail: the log line goes out with the row, when the write commits; a rolled-back write logs nothing."""

import logging

import pytest
from django.db import transaction

from apps.core.models import AuditEvent
from apps.core.observability import audit


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.actions: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.actions.append(record.getMessage())


@pytest.fixture
def audit_lines():
    handler = _Lines()
    logger = logging.getLogger("audit")  # does not propagate to the root logger, so caplog cannot see it
    logger.addHandler(handler)
    yield handler.actions
    logger.removeHandler(handler)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_write_logs_no_audit_line(audit_lines) -> None:
    def write_that_fails() -> None:
        with transaction.atomic():
            audit.record(actor=None, action="test.rolled_back", object_type="thing", object_id="1")
            raise RuntimeError("the write fails after its audit record")

    with pytest.raises(RuntimeError):
        write_that_fails()

    assert not AuditEvent.objects.exists()
    assert audit_lines == []


@pytest.mark.django_db(transaction=True)
def test_a_committed_write_logs_its_audit_line_once_committed(audit_lines) -> None:
    with transaction.atomic():
        audit.record(actor=None, action="test.committed", object_type="thing", object_id="1")
        assert audit_lines == [], "not before the commit"

    assert AuditEvent.objects.get().action == "test.committed"
    assert audit_lines == ["test.committed"]
