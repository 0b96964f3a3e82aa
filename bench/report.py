"""The bench's figures: each case's rounds, the checks against the targets, and the Markdown table."""

from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

BARE = "bare_django"
HEALTH = "health_live"
# Ratio to the bare Django view of the same run.
TARGETS = {
    "health_live": 0.85,
    "catalog_cached": 0.60,
    "product_detail": 0.60,
    "catalog_uncached": 0.20,
    "message_search": 0.20,
    "account_page_1": 0.20,
    "message_create": 0.15,
    "login_throttled": 0.50,
}
DELIVERY_TARGET_PER_SECOND = 300
# The pacing measure's senders may together go a little past senders x rate (each sender's first message leaves at
# once, the rest at its rate); one sender faster than its rate by more than this means the bucket is not shared.
PACED_SENDER_MARGIN = 1.1
# Cases measured again on the service instance without the tracing packages (its case is named with this suffix).
TRACING_PAIRS = ("health_live", "message_create")
TRACING_ABSENT_SUFFIX = "_tracing_absent"
# The parts of the machine whose CPU a case is reported with (bench/cpu.py): the server it loads, then these.
WORKERS = "workers"
CPU_PARTS = (WORKERS, "redis", "postgresql", "rabbitmq", "wrk")


@dataclass
class CaseResult:
    name: str
    path: str
    rps: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    requests: int = 0
    unexpected: int = 0
    socket_errors: int = 0
    server: str = ""
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # each part's, over every round (bench/cpu.py)

    def add_cpu(self, spent: dict[str, float]) -> None:
        for part, seconds in spent.items():
            self.cpu_seconds[part] = self.cpu_seconds.get(part, 0.0) + seconds

    def cpu_ms_per_request(self) -> dict[str, float] | None:
        """Milliseconds of CPU per request: the server the case loads, each of CPU_PARTS, the rest of the machine
        (other servers the bench runs count there: they are idle) and the machine's whole busy time."""
        if not self.cpu_seconds or not self.requests:
            return None
        per_request = {part: 1000 * seconds / self.requests for part, seconds in self.cpu_seconds.items()}
        shown = {"server": per_request.get(self.server, 0.0)}
        shown.update({part: per_request.get(part, 0.0) for part in CPU_PARTS})
        machine = sum(per_request.values())
        return {**{part: round(ms, 3) for part, ms in shown.items()}, "rest": round(machine - sum(shown.values()), 3),
                "machine": round(machine, 3)}  # fmt: skip

    def median_rps(self) -> float:
        return statistics.median(self.rps) if self.rps else 0.0

    def summary(self, bare_rps: float, health_rps: float) -> dict[str, Any]:
        rps = self.median_rps()
        target = TARGETS.get(self.name)
        return {
            "case": self.name,
            "path": self.path,
            "rps": round(rps, 1),
            "p50_ms": round(statistics.median(self.p50_ms), 2) if self.p50_ms else None,
            "p99_ms": round(statistics.median(self.p99_ms), 2) if self.p99_ms else None,
            "requests": self.requests,
            "errors": self.unexpected + self.socket_errors,
            "unexpected_answers": self.unexpected,
            "ratio": round(rps / bare_rps, 3) if bare_rps else None,
            "ratio_health": round(rps / health_rps, 3) if health_rps else None,
            "target": target,
            # What the ratio means in time: the machine's milliseconds per request beyond the bare view's, now and
            # as far as the target allows (every core serves the requests of a case: cores / req/s per request).
            "ms_over_bare": _ms_over_bare(rps, bare_rps),
            "ms_over_bare_allowed": _ms_over_bare(bare_rps * target, bare_rps) if target else None,
            "cpu_ms_per_request": self.cpu_ms_per_request(),
        }


def _ms_over_bare(rps: float, bare_rps: float) -> float | None:
    if not rps or not bare_rps:
        return None
    cores = os.cpu_count() or 1
    return round(1000 * cores * (1 / rps - 1 / bare_rps), 3)


def build_report(
    results: dict[str, CaseResult],
    prepared: dict[str, Any],
    delivery: dict[str, Any] | None,
    *,
    pacing: dict[str, Any] | None = None,
    quick: bool,
    settings: dict[str, Any],
) -> dict[str, Any]:
    cases = [result.summary(*_yardsticks(results, result.name)) for result in results.values()]
    by_name = {case["case"]: case for case in cases}
    checks = {name: (by_name[name]["ratio"] or 0) >= target for name, target in TARGETS.items() if name in by_name}
    if "message_search_1conn" in by_name:
        checks["message_search_p99_1conn_le_15ms"] = (by_name["message_search_1conn"]["p99_ms"] or 1e9) <= 15
    if "account_page_1000" in by_name and by_name["account_page_1000"]["rps"]:
        cost_ratio = by_name["account_page_1"]["rps"] / by_name["account_page_1000"]["rps"]
        by_name["account_page_1000"]["cost_vs_page_1"] = round(cost_ratio, 2)
        checks["deep_page_le_2x_page_1"] = cost_ratio <= 2
    if delivery is not None:
        checks["delivery_ge_300_per_s"] = (
            delivery["per_second"] >= DELIVERY_TARGET_PER_SECOND and delivery["sent"] == delivery["messages"]
        )
        # Every message the gateway saw came once: one post per idempotency key (the fake gateway never fails).
        checks["delivery_sent_once"] = delivery["gateway_posts"] == delivery["gateway_distinct_keys"]
    if pacing is not None:
        # Not a speed target: every message sent, and no sender faster than its rate across the worker processes.
        fastest = pacing["fastest_sender_per_second"]
        checks["pacing_bucket_shared"] = pacing["sent"] == pacing["messages"] and (
            fastest is not None and fastest <= pacing["rate_per_sender"] * PACED_SENDER_MARGIN
        )
    tracing_off = [_tracing_off(results[name], results[name + TRACING_ABSENT_SUFFIX]) for name in TRACING_PAIRS
                   if name in results and name + TRACING_ABSENT_SUFFIX in results]  # fmt: skip
    checks["queries_constant"] = all(q["page_size_5"] == q["page_size_100"] for q in prepared["queries"].values())
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "versions": _versions(),
        "settings": settings,
        "cases": cases,
        "tracing_off": tracing_off,
        "delivery": delivery,
        "pacing": pacing,
        "queries": prepared["queries"],
        "checks": checks,
    }


def _yardsticks(results: dict[str, CaseResult], name: str) -> tuple[float, float]:
    """The bare Django view's and /health/live/'s req/s on the server `name` ran on (`case@server`: that server's)."""
    _, at, server = name.partition("@")
    bare, health = results.get(BARE + at + server), results.get(HEALTH + at + server)
    return (bare or results[BARE]).median_rps(), (health or results[HEALTH]).median_rps()


def _tracing_off(off: CaseResult, absent: CaseResult) -> dict[str, Any]:
    """A case on the service (tracing and Sentry off) beside the same on the instance where neither can be imported.

    The ratio is the median of each round's: the two ran one after the other, so a round's pair shares the
    machine's load of the moment, which drifts between rounds more than the two instances differ."""
    rounds = [round(a / b, 3) for a, b in zip(off.rps, absent.rps, strict=True) if b]
    return {
        "case": off.name,
        "rps_off": round(off.median_rps(), 1),
        "rps_absent": round(absent.median_rps(), 1),
        "p50_ms_off": round(statistics.median(off.p50_ms), 2) if off.p50_ms else None,
        "p50_ms_absent": round(statistics.median(absent.p50_ms), 2) if absent.p50_ms else None,
        "ratio": round(statistics.median(rounds), 3) if rounds else None,
        "ratio_rounds": rounds,
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["django", "djangorestframework", "djangorestframework-simplejwt", "celery", "gunicorn", "psycopg"]
    return {name: version(name) for name in names}


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark {report['when']}{' (quick)' if report['quick'] else ''}",
        "",
    ]
    if report.get("settings", {}).get("only"):
        lines += [f"Only these cases (`--cases`): {', '.join(report['settings']['only'])}.", ""]
    lines += [
        "| case | path | req/s | p50 ms | p99 ms | errors | ratio to bare Django | ratio to /health/live/ | target | "
        "machine ms over bare | target allows |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in report["cases"]:
        shown = case["target"] and not report["quick"]
        target = f"≥ {case['target']}" if shown else ""
        allowed = case["ms_over_bare_allowed"] if shown else ""
        over = "" if case["case"] == BARE else case["ms_over_bare"]
        lines.append(
            f"| {case['case']} | `{case['path'][:60]}` | {case['rps']} | {case['p50_ms']} | {case['p99_ms']} | "
            f"{case['errors']} | {case['ratio']} | {case['ratio_health']} | {target} | {over} | {allowed} |"
        )
    lines += _cpu_table(report["cases"])
    if report["tracing_off"]:
        lines += [
            "",
            "Tracing and Sentry off (no OTEL_EXPORTER_OTLP_ENDPOINT, no SENTRY_DSN) against a service instance where "
            "neither package can be imported:",
            "",
            "| case | req/s off | req/s absent | p50 ms off | p50 ms absent | ratio tracing off / tracing absent "
            "(median of rounds) | each round |",
            "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        lines += [
            f"| {pair['case']} | {pair['rps_off']} | {pair['rps_absent']} | {pair['p50_ms_off']} | "
            f"{pair['p50_ms_absent']} | {pair['ratio']} | {', '.join(map(str, pair['ratio_rounds']))} |"
            for pair in report["tracing_off"]
        ]
    delivery = report["delivery"]
    if delivery is not None:
        lines += [
            "",
            f"Delivery through the `http` backend to a gateway answering in {delivery['gateway_delay_ms']} ms: "
            f"{delivery['sent']}/{delivery['messages']} messages sent in {delivery['seconds']} s = "
            f"{delivery['per_second']} messages/s (target ≥ {DELIVERY_TARGET_PER_SECOND}); while they were "
            f"delivered the gateway took {delivery['gateway_posts']} send posts for "
            f"{delivery['gateway_distinct_keys']} distinct messages (one idempotency key each: more posts than keys "
            "would be messages sent twice).",
        ]
        if "segments" in delivery:
            lines[-1] += (
                f" Realistic bodies, segments counted at acceptance, pacing off: {delivery['segments']} segments = "
                f"{delivery['segments_per_second']} segments/s ({delivery['multi_segment']} messages of 2 to "
                f"{delivery['max_segments']} segments, {delivery['ucs2']} in UCS-2)."
            )
    pacing = report.get("pacing")
    if pacing is not None:
        lines += [
            "",
            f"Pacing: {pacing['senders']} senders at {pacing['rate_per_sender']:g} segment/s each (their own rate), "
            f"{pacing['messages']} one-part messages through the same worker's 2 processes: {pacing['sent']} sent in "
            f"{pacing['seconds']} s = {pacing['per_second']} messages/s ({pacing['segments_per_second']} segments/s; "
            f"about {pacing['expected_per_second']:g} expected with the bucket shared, not a speed target); the "
            f"fastest sender went {pacing['fastest_sender_per_second']} messages/s (a bucket per process would let "
            "it go up to twice its rate).",
        ]
    if report.get("slow_clients"):
        lines += [
            "",
            "Slow clients: two POST bodies dripped a byte a second into the service, `/health/live/` probed one at a "
            "time meanwhile (2 s timeout):",
            "",
            "| server | probes | answered | p50 ms | max ms |",
            "| --- | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {kind} | {probe['probes']} | {probe['answered']} | {probe['p50_ms']} | {probe['max_ms']} |"
            for kind, probe in report["slow_clients"].items()
        ]
    if "soak" in report:
        lines += [
            "",
            "Soak: {requests} requests from {clients} clients in {seconds:.0f} s, statuses {statuses}, "
            "{server_errors} server errors, {messages_created} messages created and {messages_not_sent} not sent; "
            "memory growth after warm-up: web {web_memory_growth:.1%}, worker {worker_memory_growth:.1%}.".format(
                **report["soak"]
            ),
        ]
    lines += [
        "",
        "Queries per request (page_size 5 / 100): "
        + ", ".join(f"`{path}` {q['page_size_5']}/{q['page_size_100']}" for path, q in report["queries"].items()),
        "",
        _verdict(report),
        "",
    ]
    return "\n".join(lines)


def _cpu_table(cases: list[dict[str, Any]]) -> list[str]:
    measured = [case for case in cases if case.get("cpu_ms_per_request")]
    if not measured:
        return []
    lines = [
        "",
        "Where each case's machine time went: CPU milliseconds per request, read from /proc while wrk ran (the server "
        "the case loads, the Celery workers, Redis, PostgreSQL, RabbitMQ, wrk, and the rest: the kernel's network "
        "work in interrupts and everything else; `machine` is every core's busy time):",
        "",
        "| case | server | workers | Redis | PostgreSQL | RabbitMQ | wrk | rest | machine |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in measured:
        cpu = case["cpu_ms_per_request"]
        lines.append(
            f"| {case['case']} | {cpu['server']} | {cpu[WORKERS]} | {cpu['redis']} | {cpu['postgresql']} | "
            f"{cpu['rabbitmq']} | {cpu['wrk']} | {cpu['rest']} | {cpu['machine']} |"
        )
    return lines


QUICK_NOTE = (
    "Quick run (`--quick`): one short round on small data with few connections. Its figures are not comparable "
    "with a full run's or with the targets, so no target is checked; run `make bench` for the verdict."
)


def _verdict(report: dict[str, Any]) -> str:
    if report["quick"]:
        return QUICK_NOTE
    return "Checks: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in report["checks"].items())
