"""bench/cpu.py: a process the bench started, and its children, count as its part; the parts add up to the machine."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.cpu import REST, WRK, CpuSnapshot

# Forks once, and the child burns about 0.3 s of CPU and ends after 1 s; the parent reaps it at 1.5 s and ends, or,
# given an argument, lives on.
BURN_IN_A_CHILD = """
import os, sys, time
pid = os.fork()
if pid == 0:
    end = time.process_time() + 0.3
    while time.process_time() < end:
        pass
    time.sleep(1.0)  # alive when the test reads its ticks
    os._exit(0)
time.sleep(1.5)
os.waitpid(pid, 0)
if len(sys.argv) > 1:  # alive after its child ended
    time.sleep(30)
"""

pytestmark = pytest.mark.skipif(not Path("/proc/stat").exists(), reason="bench/cpu.py reads Linux's /proc")


def test_a_started_process_and_its_children_count_as_its_part() -> None:
    process = subprocess.Popen([sys.executable, "-c", BURN_IN_A_CHILD])
    try:
        before = CpuSnapshot({process.pid: "burner"})
        subprocess.run([sys.executable, "-c", "import time; time.sleep(0.9)"], check=True)
        spent = CpuSnapshot({process.pid: "burner"}).seconds_since(before)
    finally:
        process.wait(timeout=10)

    assert spent["burner"] >= 0.2, spent  # the forked child's CPU, found through its parent
    assert spent[WRK] < 0.2, spent  # the waited child only slept
    assert spent[REST] >= 0, spent


def test_a_child_that_ended_meanwhile_still_counts_as_its_part() -> None:
    process = subprocess.Popen([sys.executable, "-c", BURN_IN_A_CHILD, "keep running"])
    try:
        before = CpuSnapshot({process.pid: "burner"})
        subprocess.run([sys.executable, "-c", "import time; time.sleep(2.5)"], check=True)  # the child ends, reaped
        spent = CpuSnapshot({process.pid: "burner"}).seconds_since(before)
    finally:
        process.kill()
        process.wait(timeout=10)

    assert spent["burner"] >= 0.2, spent  # the child's CPU, now among its parent's waited children's


def test_the_cpu_of_a_process_of_no_part_is_not_lost() -> None:
    before = CpuSnapshot({})
    process = subprocess.Popen([sys.executable, "-c", BURN_IN_A_CHILD])
    try:
        process.wait(timeout=10)
    finally:
        spent = CpuSnapshot({}).seconds_since(before)

    assert "burner" not in spent
    # It ended and was waited for within the window: what it and its child spent counts as a waited child's (the
    # part wrk's CPU is read from, as wrk is the one child the bench waits for meanwhile), none of it is lost.
    assert spent[REST] + spent[WRK] >= 0.2, spent
