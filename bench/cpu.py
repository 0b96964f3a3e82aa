"""Where a case's machine time goes: the CPU each part of the machine spent while wrk ran, read from /proc (Linux).

A ratio to the bare view says how much more machine time a request takes; this says whose. The parts: the server
the case loads (its master and workers), the Celery workers, Redis, PostgreSQL, RabbitMQ, wrk itself (its rusage as
a waited child), and the rest of the machine's busy time (the kernel's network work in interrupts, any other
process). A process that ends during the run counts through the parent that waited for it. Elsewhere than Linux
nothing is read and the report leaves it out.
"""

from __future__ import annotations

import os
import resource
from collections.abc import Mapping
from pathlib import Path

# Processes found by their name rather than by a pid the bench started: the machine's own servers.
NAMED_PARTS = {"redis-server": "redis", "postgres": "postgresql", "beam.smp": "rabbitmq"}
REST = "rest"
WRK = "wrk"
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _processes() -> dict[int, tuple[str, int, int]]:
    """Each process's (name, parent pid, CPU ticks): its own in user and system mode, and those of its children it
    has waited for, so the work of a process that ended (a database backend, a worker's child) stays counted."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # ended while we looked
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        # From the state on: state, ppid, ..., utime at 11, stime, cutime, cstime.
        fields = stat[stat.rindex(")") + 2 :].split()
        found[int(entry.name)] = (name, int(fields[1]), sum(int(ticks) for ticks in fields[11:15]))
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
    """The CPU seconds each part has spent so far. `roots` names the processes the bench started: a pid and its
    descendants count as that part.

    A part's figure is the sum over its living processes of their own ticks and their waited children's. A process
    that ends between two snapshots leaves its own figure for its parent's waited children's, so the difference of
    two snapshots holds what it spent in between, whether it started, ran or ended meanwhile.
    """

    def __init__(self, roots: Mapping[int, str]) -> None:
        self.seconds: dict[str, float] = {}
        self.machine = self.children = 0.0
        self.available = Path("/proc/stat").exists()
        if not self.available:
            return
        processes = _processes()
        for pid, (_, _, ticks) in processes.items():
            part = _part(pid, processes, roots)
            if part is not None:
                self.seconds[part] = self.seconds.get(part, 0.0) + ticks / TICKS_PER_SECOND
        self.machine = _machine_busy_ticks() / TICKS_PER_SECOND
        self.children = _waited_children_seconds()

    def seconds_since(self, before: CpuSnapshot) -> dict[str, float]:
        """CPU seconds each part spent between `before` and this snapshot, wrk's (the bench's one waited child
        meanwhile), and the rest of the machine's busy time."""
        if not (self.available and before.available):
            return {}
        spent = {part: seconds - before.seconds.get(part, 0.0) for part, seconds in self.seconds.items()}
        spent[WRK] = self.children - before.children
        spent[REST] = max(0.0, (self.machine - before.machine) - sum(spent.values()))
        return spent
