"""`make bench --quick` runs end to end, so the harness cannot rot: every case measured, results written."""

import json
import os
import re
import subprocess
import sys
from urllib.parse import urlparse

import pytest

from bench.report import CaseResult, build_report
from tests.helpers.processes import BASE_DIR, project_env


def _run_module(*args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.broker
@pytest.mark.slow
def test_quick_benchmark_measures_every_case(tmp_path) -> None:
    # The bench's database, Redis and broker follow this run's own, so two checkouts never share them.
    database = f"{urlparse(os.environ['DATABASE_URL']).path.lstrip('/')}_bench"
    env = project_env(
        BENCH_RESULTS_DIR=str(tmp_path),
        BENCH_DATABASE=database,
        BENCH_REDIS_URL=os.environ["REDIS_URL"],
        BENCH_BROKER_URL=os.environ["CELERY_BROKER_URL"],
    )
    _run_module("bench.run", "--quick", env=env, timeout=900)

    report = json.loads((tmp_path / "quick.json").read_text())
    cases = {case["case"]: case for case in report["cases"]}
    assert {"bare_django", "health_live", "stock_drf_cached", "stock_drf_uncached", "catalog_cached",
            "catalog_uncached", "product_detail", "message_create", "message_search",
            "login_throttled", "health_live_tracing_absent", "message_create_tracing_absent",
            "team_catalog_cached", "team_catalog_uncached", "team_message_create"} <= set(cases)  # fmt: skip
    for name, case in cases.items():
        assert case["rps"] > 0, name
        assert case["unexpected_answers"] == 0, case  # the team's create once answered only 500s
        assert case["ratio"] is not None, name
        assert case["ratio_health"] is not None, name
    assert cases["bare_django"]["ratio"] == 1.0
    assert cases["health_live"]["ratio_health"] == 1.0
    assert cases["bare_django"]["ms_over_bare"] == 0
    # Whose CPU each case took: the server it loads did work for every request, and the parts add up to the machine.
    for name, case in cases.items():
        cpu = case["cpu_ms_per_request"]
        assert cpu["server"] > 0, (name, cpu)
        parts = sum(ms for part, ms in cpu.items() if part != "machine")
        assert parts == pytest.approx(cpu["machine"], abs=0.01), (name, cpu)
    assert cases["catalog_uncached"]["cpu_ms_per_request"]["postgresql"] > 0, cases["catalog_uncached"]
    for case in cases.values():
        if case["target"]:
            # The time a case takes beyond the bare view says what its ratio says: within the target's allowance
            # exactly when the ratio meets the target.
            within = case["ms_over_bare"] <= case["ms_over_bare_allowed"]
            assert within == (case["ratio"] >= case["target"]), case
    # Tracing and Sentry off, beside an instance where neither can be imported.
    assert [pair["case"] for pair in report["tracing_off"]] == ["health_live", "message_create"]
    assert all(pair["ratio"] > 0 for pair in report["tracing_off"]), report["tracing_off"]
    delivery = report["delivery"]
    assert delivery["sent"] == delivery["messages"]
    assert delivery["gateway_posts"] >= delivery["messages"]
    assert report["checks"]["delivery_sent_once"], delivery
    assert delivery["multi_segment"] > 0, delivery
    assert delivery["segments"] > delivery["messages"], delivery
    pacing = report["pacing"]
    assert pacing["sent"] == pacing["messages"], pacing
    assert report["checks"]["queries_constant"], report["queries"]
    assert all(q["status"] == 200 for q in report["queries"].values()), report["queries"]
    markdown = (tmp_path / "quick.md").read_text()
    assert markdown.startswith("# Benchmark")
    assert "ratio to bare Django" in markdown
    assert "Where each case's machine time went" in markdown
    assert "ratio tracing off / tracing absent" in markdown

    # The profiler reads the same seeded database; it must keep working too.
    profiled = _run_module(
        "bench.profile", "catalog_cached", "--requests", "20", "--database", f"{database}_quick", env=env, timeout=300
    )
    assert "first answer: 200 OK" in profiled.stdout
    assert "catalog_cached: 20 in" in profiled.stdout

    costs = _run_module(
        "bench.profile", "health_live", "--middleware-costs", "--requests", "5", "--rounds", "1", "--database",
        f"{database}_quick", env=env, timeout=300,
    )  # fmt: skip
    assert "whole stack" in costs.stdout
    assert "without CorsMiddleware" in costs.stdout
    # One middleware left out of a run (what --middleware-costs --instructions counts each stack with).
    without = _run_module(
        "bench.profile", "health_live", "--plain", "--requests", "5", "--without",
        "apps.core.http.middleware.RequestContextMiddleware", "--database", f"{database}_quick", env=env, timeout=300,
    )  # fmt: skip
    assert re.search(r"without apps\.core\.http\.middleware\.RequestContextMiddleware: \d+ middleware", without.stdout)
    assert "first answer: 200 OK" in without.stdout
    misspelt = subprocess.run(
        [sys.executable, "-m", "bench.profile", "health_live", "--plain", "--requests", "5", "--without",
         "apps.core.http.middleware.RequestContextMiddlewar", "--database", f"{database}_quick"],
        cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert misspelt.returncode != 0
    assert "not in MIDDLEWARE" in misspelt.stderr

    # The yardsticks profile on their own project, and instructions are counted (valgrind, on the CI machine too).
    bare = _run_module(
        "bench.profile", "bare", "--plain", "--requests", "20", "--database", f"{database}_quick", env=env, timeout=300
    )
    assert "first answer: 200 OK" in bare.stdout
    counted = _run_module(
        "bench.profile", "bare", "--instructions", "--requests", "5", "--database", f"{database}_quick", env=env,
        timeout=600,
    )  # fmt: skip
    per_request = re.search(r"bare: ([\d,]+) instructions per request", counted.stdout)
    assert per_request is not None, counted.stdout
    assert int(per_request.group(1).replace(",", "")) > 0


def test_a_case_on_another_server_is_divided_by_that_servers_bare_view() -> None:
    measured = {"bare_django": 1000.0, "health_live": 800.0, "bare_django@granian": 4000.0,
                "health_live@granian": 2000.0, "catalog_cached@granian": 400.0, "catalog_cached": 200.0}  # fmt: skip
    results = {name: CaseResult(name, "/", rps=[rps]) for name, rps in measured.items()}
    report = build_report(results, {"queries": {}}, None, quick=True, settings={})

    ratios = {case["case"]: (case["ratio"], case["ratio_health"]) for case in report["cases"]}
    assert ratios["catalog_cached@granian"] == (0.1, 0.2)
    assert ratios["catalog_cached"] == (0.2, 0.25)
    assert ratios["bare_django@granian"] == (1.0, 2.0)
