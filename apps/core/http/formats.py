"""Value formats shared by the answers that are built without DRF serializer fields (the hot list reads)."""

from datetime import UTC, datetime


def utc_iso(value: datetime | None) -> str | None:
    """DRF's DateTimeField output under TIME_ZONE="UTC": ISO 8601, "+00:00" written as "Z"; None stays None."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
