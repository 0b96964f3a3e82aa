from typing import Any

import pytest

from tests.fleet.topology import FIGURES


@pytest.fixture(autouse=True)
def _isolated_cache() -> None:
    """Not here: the fleet's processes share the Redis database with this one, and the checks run in sequence on
    one topology; clearing the cache between them would flush the fleet's counters mid-run (its keys have a
    prefix of their own, so other tests' entries do not reach it)."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        width = max(len(name) for name, _ in FIGURES)
        terminalreporter.section("fleet figures")
        for name, value in FIGURES:
            terminalreporter.line(f"{name:<{width}}  {value}")
