import pytest

from apps.messages.phone import InvalidPhoneNumber, normalize_phone


@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("+15551234567", "+15551234567"),
        (" +1 555 123 4567 ", "+15551234567"),
        ("+1-555-123-4567", "+15551234567"),
        ("+1.555.123.4567", "+15551234567"),
        ("+1 (555) [123] 4567", "+15551234567"),
        ("+1\t555\u00a0123 4567", "+15551234567"),
    ],
)
def test_punctuation_is_stripped(raw: str, normalised: str) -> None:
    assert normalize_phone(raw) == normalised


@pytest.mark.parametrize(
    "raw",
    ["", "+", "15551234567", "+1555123456a", "+1234567", "+1234567890123456", "+1+5551234567", "+1/555/1234567"],
)
def test_anything_else_is_refused(raw: str) -> None:
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(raw)
