"""`make bench --quick` runs end to end, so the harness cannot rot: every case measured, results written."""

import json
import subprocess
import sys

import pytest

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
def test_quick_benchmark_measures_every_case(tmp_path) -> None:  # type: ignore[no-untyped-def]
    env = project_env(BENCH_RESULTS_DIR=str(tmp_path))
    _run_module("bench.run", "--quick", env=env, timeout=900)

    report = json.loads((tmp_path / "quick.json").read_text())
    cases = {case["case"]: case for case in report["cases"]}
    assert {"health_live", "catalog_cached", "catalog_uncached", "product_detail", "message_create",
            "message_search", "login_throttled"} <= set(cases)  # fmt: skip
    for name, case in cases.items():
        assert case["rps"] > 0, name
        assert case["ratio"] is not None, name
    assert cases["health_live"]["ratio"] == 1.0
    assert report["delivery"]["sent"] == report["delivery"]["messages"]
    assert report["checks"]["queries_constant"], report["queries"]
    assert all(q["status"] == 200 for q in report["queries"].values()), report["queries"]
    assert (tmp_path / "quick.md").read_text().startswith("# Benchmark")

    # The profiler reads the same seeded database; it must keep working too.
    profiled = _run_module(
        "bench.profile", "catalog_cached", "--requests", "20", "--database", "drm_bench_quick", env=env, timeout=300
    )
    assert "first answer: 200 OK" in profiled.stdout
    assert "catalog_cached: 20 in" in profiled.stdout
