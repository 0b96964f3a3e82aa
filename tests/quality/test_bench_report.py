"""What `make bench` prints: a quick run says its figures are not comparable and gives no target verdict, and the
delivery line says what the gateway's posts are."""

from typing import Any

import pytest

from bench.report import QUICK_NOTE, render_markdown


def report(*, quick: bool) -> dict[str, Any]:
    return {
        "when": "2026-12-07T00:00:00Z",
        "quick": quick,
        "cases": [
            {
                "case": "product_list",
                "path": "/api/v1/products/",
                "rps": 100,
                "p50_ms": 5,
                "p99_ms": 9,
                "errors": 0,
                "ratio": 0.2,
                "ratio_health": 0.3,
                "target": 0.25,
            },
        ],
        "tracing_off": [],
        "delivery": {
            "gateway_delay_ms": 50,
            "sent": 300,
            "messages": 300,
            "seconds": 2.0,
            "per_second": 150.0,
            "gateway_posts": 300,
            "gateway_distinct_keys": 300,
        },
        "queries": {},
        "checks": {"product_list": False, "delivery_sent_once": True},
    }


def test_a_quick_run_says_it_is_not_comparable_and_checks_no_target() -> None:
    text = render_markdown(report(quick=True))
    assert QUICK_NOTE in text
    assert "Checks:" not in text
    assert "≥ 0.25" not in text


@pytest.mark.parametrize("quick", [False, True])
def test_the_delivery_line_names_posts_per_distinct_message(quick: bool) -> None:
    text = render_markdown(report(quick=quick))
    assert "the gateway took 300 send posts for 300 distinct messages (one idempotency key each" in text


def test_a_full_run_gives_its_verdict() -> None:
    text = render_markdown(report(quick=False))
    assert "Checks: product_list ✗, delivery_sent_once ✓" in text
    assert "≥ 0.25" in text
