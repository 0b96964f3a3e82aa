"""Where a case's machine time goes: the CPU each part of the machine spent while wrk ran, read from /proc (Linux).

A ratio to the bare view says how much more machine time a request takes; this says whose. The parts: the server
the case loads (its master and workers), the Celery workers, Redis, PostgreSQL, wrk itself (its rusage as a waited
child), and the rest of the machine's busy time (the kernel's network work in interrupts, any other process, and
the processes that ended during the run). Elsewhere than Linux nothing is read and the report leaves it out.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from pathlib import Path

# Processes found by their name rather than by a pid the bench started: the machine's own servers.
NAMED_PARTS = {"redis-server": "redis", "postgres": "postgresql"}
REST = "rest"
WRK = "wrk"
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[str, int, int]]:
    """Each process's (name, parent pid, CPU ticks in user and system mode)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()  # from the state on: state, ppid, ..., utime at 11, stime 12
        found[int(entry.name)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _machine_busy_ticks() -> int:
    """Ticks every core spent busy: user, nice, system, irq, softirq and steal (not idle, not waiting on a disk)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return user + nice + system + irq + softirq + steal


def _waited_children_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _part(pid: int, processes: Mapping[int, tuple[str, int, int]], roots: Mapping[int, str]) -> str | None:
    """The part `pid` belongs to: that of the nearest of its ancestors (itself included) the bench started, else
    that of its name."""
    seen = pid
    while seen in processes and seen > 1:
        if seen in roots:
            return roots[seen]
        seen = processes[seen][1]
    return NAMED_PARTS.get(processes[pid][0])


class CpuSnapshot:
    """The CPU seconds of each part at one moment. `roots` names the processes the bench started: a pid and its
    descendants count as that part."""

    def __init__(self, roots: Mapping[int, str]) -> None:
        self.available = Path("/proc/stat").exists()
        self.ticks: dict[int, tuple[str | None, int]] = {}
        self.machine = self.children = 0.0
        if not self.available:
            return
        processes = _processes()
        self.ticks = {pid: (_part(pid, processes, roots), ticks) for pid, (_, _, ticks) in processes.items()}
        self.machine = _machine_busy_ticks() / TICKS_PER_SECOND
        self.children = _waited_children_seconds()

    def seconds_since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds each part spent between `before` and this snapshot (a process that ended meanwhile counts
        in REST; one that started, from zero)."""
        if not (self.available and before.available):
            return {}
        spent: dict[str, float] = {}
        for pid, (part, ticks) in self.ticks.items():
            if part is None:
                continue
            earlier = before.ticks.get(pid, (part, 0))[1]
            spent[part] = spent.get(part, 0.0) + (ticks - earlier) / TICKS_PER_SECOND
        spent[WRK] = self.children - before.children
        spent[REST] = max(0.0, (self.machine - before.machine) - sum(spent.values()))
        return spent
