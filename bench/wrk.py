"""wrk: one Lua script per case, and the figures parsed from its `--latency` report."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

from bench.servers import log

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    match = re.match(r"([\d.]+)(us|ms|s|m)$", text.strip())
    if not match:
        return float("nan")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_wrk(output: str) -> dict[str, float]:
    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output, re.MULTILINE)
        return match.group(1) if match else default

    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    return {
        "rps": float(find(r"^Requests/sec:\s+([\d.]+)")),
        "p50_ms": _ms(find(r"^\s+50%\s+(\S+)", "nan")),
        "p99_ms": _ms(find(r"^\s+99%\s+(\S+)", "nan")),
        "requests": int(find(r"^\s+(\d+) requests in")),
        "non2xx": int(find(r"Non-2xx or 3xx responses: (\d+)")),
        "socket_errors": sum(int(n) for n in errors.groups()) if errors else 0,
    }


def lua_script(workdir: Path, name: str, method: str, headers: dict[str, str], body: str | None, path: str) -> Path:
    lines = [f'wrk.method = "{method}"']
    if "{random}" in path:
        # A different query string on every request, so each one misses the response cache.
        head, tail = path.split("{random}", 1)
        lines.append(
            f"request = function() return wrk.format(nil, {json.dumps(head)} .. math.random(1, 99999) .. "
            f"{json.dumps(tail)}) end"
        )
    for key, value in headers.items():
        lines.append(f'wrk.headers["{key}"] = "{value}"')
    if body is not None:
        lines.append(f"wrk.body = {json.dumps(body)}")
    script = workdir / f"{name}.lua"
    script.write_text("\n".join(lines) + "\n")
    return script


def run_wrk(wrk: str, url: str, script: Path, *, seconds: float, connections: int, threads: int) -> dict[str, float]:
    command = [wrk, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "-s",
               str(script), url]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    figures = parse_wrk(result.stdout)
    if not figures["rps"]:
        log(f"wrk measured nothing for {url}:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return figures
