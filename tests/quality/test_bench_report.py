"""What `make bench` prints: a quick run says its figures are not comparable and gives no target verdict, and the
delivery line says what the gateway's posts are."""

from typing import Any

import pytest

from bench.report import QUICK_NOTE, build_report, render_markdown


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
                "ms_over_bare": 16.0,
                "ms_over_bare_allowed": 11.5,
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
            "segments": 420,
            "segments_per_second": 210.0,
            "multi_segment": 90,
            "ucs2": 45,
            "max_segments": 3,
        },
        "pacing": {
            "senders": 50,
            "rate_per_sender": 1.0,
            "messages": 1000,
            "sent": 1000,
            "seconds": 20.5,
            "per_second": 48.8,
            "segments_per_second": 48.8,
            "expected_per_second": 50.0,
            "fastest_sender_per_second": 0.98,
        },
        "queries": {},
        "checks": {"product_list": False, "delivery_sent_once": True},
    }


def test_a_quick_run_says_it_is_not_comparable_and_checks_no_target() -> None:
    text = render_markdown(report(quick=True))
    assert QUICK_NOTE in text
    assert "Checks:" not in text
    assert "≥ 0.25" not in text
    assert "| 16.0 |  |" in text  # the time it took, not what a target allows


@pytest.mark.parametrize("quick", [False, True])
def test_the_delivery_line_names_posts_per_distinct_message(quick: bool) -> None:
    text = render_markdown(report(quick=quick))
    assert "the gateway took 300 send posts for 300 distinct messages (one idempotency key each" in text


def test_a_full_run_gives_its_verdict() -> None:
    text = render_markdown(report(quick=False))
    assert "Checks: product_list ✗, delivery_sent_once ✓" in text
    assert "| ≥ 0.25 | 16.0 | 11.5 |" in text  # the target, the time over the bare view, what the target allows


def test_the_delivery_line_counts_segments_and_the_pacing_line_its_senders() -> None:
    text = render_markdown(report(quick=False))
    assert "pacing off: 420 segments = 210.0 segments/s (90 messages of 2 to 3 segments, 45 in UCS-2)" in text
    assert "Pacing: 50 senders at 1 segment/s each (their own rate), 1000 one-part messages" in text
    assert "1000 sent in 20.5 s = 48.8 messages/s (48.8 segments/s; about 50 expected" in text
    assert "the fastest sender went 0.98 messages/s" in text


@pytest.mark.parametrize(("fastest", "shared"), [(0.98, True), (1.9, False), (None, False)])
def test_pacing_passes_only_when_no_sender_outran_its_rate(fastest: float | None, shared: bool) -> None:
    pacing = {**report(quick=False)["pacing"], "fastest_sender_per_second": fastest}

    built = build_report({}, {"queries": {}}, None, pacing=pacing, quick=False, settings={})

    assert built["checks"]["pacing_bucket_shared"] is shared
