"""`make bench`: the service under gunicorn on PostgreSQL, Redis and RabbitMQ, loaded by wrk on 127.0.0.1, beside a bare
Django project (bench/baseline) served with the same gunicorn settings over the same database.

Cases of both servers run interleaved, round after round; each is reported as req/s, p50/p99 latency and errors, as a
ratio to the bare Django view and as a ratio to the service's `/health/live/`, all from the same run (the machines are
shared and noisy: only ratios from one run compare). `/health/live/` and message create also run on a second instance of
the service in which opentelemetry and sentry_sdk cannot be imported: the ratio of the two shows what tracing and Sentry
cost while off. A typical DRF team's project (bench/team) serves the same three cells (cached and filtered catalog
reads, message create) in the same rounds; `--servers` runs the service and the bare project again under gunicorn's
gthread worker or granian, and drips slow request bodies into each. Then delivery through the `http` backend to a fake
gateway answering in 200 ms (`delivery`: realistic bodies, segments counted, pacing off), pacing (`pacing`: 50 senders
at 1 segment a second each, through the same 2 worker processes), and a soak. Results go to bench/results/latest.json
and latest.md. `--quick` runs one short round on small data (the test suite does, so the harness cannot rot).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.cpu import CpuSnapshot
from bench.report import BARE, TRACING_ABSENT_SUFFIX, TRACING_PAIRS, WORKERS, CaseResult, build_report, render_markdown
from bench.servers import (
    BASE_DIR,
    PYTHON,
    SERVER_KINDS,
    TRACING_PACKAGES,
    baseline_env,
    ensure_database,
    ensure_wrk,
    free_port,
    get_json,
    importable,
    log,
    manage,
    message_statuses,
    port_answers,
    queued_messages,
    run_module,
    server_command,
    service_env,
    start,
    stop,
    team_env,
    tracing_absent_env,
    wait_http,
)
from bench.slowclients import probe_under_drip
from bench.soak import run_soak
from bench.wrk import lua_script, run_wrk

DEMO_PASSWORD = "demo-password-change-me"  # noqa: S105 - seed_demo's demo accounts
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", BASE_DIR / "bench" / "results"))
GATEWAY_DELAY_MS = 200
DRAIN_TIMEOUT_SECONDS = 60.0
# The pacing measure: this many senders, each paced at PACING_RATE segments a second, one-part messages.
PACING_SENDERS, PACING_RATE = 50, 1.0
# Measures after the request cases, each runnable alone by its name in --cases.
MEASURES = ("delivery", "pacing")

FULL_SIZES = {"categories": 20, "products": 10_000, "users": 1_000, "messages": 1_000_000, "heavy_accounts": 5,
              "heavy_messages": 100_000}  # fmt: skip
QUICK_SIZES = {"categories": 5, "products": 300, "users": 20, "messages": 6_000, "heavy_accounts": 1,
               "heavy_messages": 3_000}  # fmt: skip
ALWAYS = {BARE, "health_live"}
# Which instance serves a case: the service, the bare project, or the service with the tracing packages absent.
SERVICE, BASELINE, TRACING_ABSENT, TEAM = "service", "baseline", "tracing_absent", "team"
# `--cases tracing`: what tracing and Sentry cost while off, each case beside the same on the TRACING_ABSENT instance.
TRACING_CASES = {*TRACING_PAIRS, *(name + TRACING_ABSENT_SUFFIX for name in TRACING_PAIRS)}
# `--cases team`: the typical DRF team's three cells beside ours and stock DRF's.
TEAM_CASES = {"catalog_cached", "stock_drf_cached", "team_catalog_cached", "catalog_uncached", "stock_drf_uncached",
              "team_catalog_uncached", "message_create", "team_message_create"}  # fmt: skip
# `--servers gthread,granian`: these cases run again on the service and the bare project under each named server,
# as `case@server` (the run's own instances keep config/gunicorn.py's default).
SERVER_CASES = ("bare_django", "health_live", "catalog_cached", "catalog_uncached")
# Sign-in once the limit is spent: the cost of a refusal (429), the password unchecked.
LOGIN_THROTTLED = "login_throttled"


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    server: str = SERVICE
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()
    body: str | None = None
    connections: int | None = None  # None: the run's --connections
    expect_ok: bool = True
    # Creates messages: the next case waits until the worker has delivered them, so it is not measured while the
    # worker takes its share of the two cores.
    creates_messages: bool = False


def cases_for(prepared: dict[str, Any]) -> list[Case]:
    auth = (("Authorization", f"Bearer {prepared['token']}"),)
    json_auth = (*auth, ("Content-Type", "application/json"))
    account = prepared["account_id"]
    search = f"/api/v1/messages/search/?sender_number={urllib.parse.quote(prepared['sender'] or '')}"
    message = json.dumps({"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "bench"})
    login = json.dumps({"email": "bench-login@example.com", "password": "wrong-password-for-the-bench"})
    cases = [
        Case(BARE, "/bare/", server=BASELINE),
        Case("health_live", "/health/live/"),
        Case(f"health_live{TRACING_ABSENT_SUFFIX}", "/health/live/", server=TRACING_ABSENT),
        Case("stock_drf_cached", "/cached/products/?page=1", server=BASELINE),
        Case("catalog_cached", "/api/v1/products/?page=1", headers=auth),
        Case("stock_drf_uncached", "/products/?page=1", server=BASELINE),
        # A different max_price on every request: each one misses the response cache.
        Case("catalog_uncached", "/api/v1/products/?min_price=1&max_price={random}&ordering=-price&is_available=true",
             headers=auth),
        Case("product_detail", f"/api/v1/products/{prepared['product_id']}/", headers=auth),
        Case("message_create", "/api/v1/messages/", method="POST", headers=json_auth, body=message,
             creates_messages=True),
        Case(f"message_create{TRACING_ABSENT_SUFFIX}", "/api/v1/messages/", method="POST", headers=json_auth,
             body=message, server=TRACING_ABSENT, creates_messages=True),
        Case("message_search", search, headers=auth),
        Case("message_search_1conn", search, headers=auth, connections=1),
        Case("account_page_1", f"/api/v1/accounts/{account}/messages/?page=1", headers=auth),
        Case("account_page_1000", f"/api/v1/accounts/{account}/messages/?page=1000", headers=auth),
        Case(LOGIN_THROTTLED, "/api/v1/auth/login/", method="POST", headers=(("Content-Type", "application/json"),),
             body=login, expect_ok=False),
        # The typical DRF team (bench/team) on the same tables and data: a per-user cache_page, django-filter and
        # OrderingFilter, a ModelViewSet create handing delivery to Celery on commit.
        Case("team_catalog_cached", "/products/?page=1", server=TEAM, headers=auth),
        Case("team_catalog_uncached", "/products/?min_price=1&max_price={random}&ordering=-price&is_available=true",
             server=TEAM, headers=auth),
        Case("team_message_create", "/messages/", method="POST", server=TEAM, headers=json_auth, body=message,
             creates_messages=True),
    ]  # fmt: skip
    if prepared["account_messages"] < 20_000:
        cases = [case for case in cases if case.name != "account_page_1000"]
    return cases


def server_cases(cases: list[Case], kinds: list[str]) -> list[Case]:
    """SERVER_CASES again under each of `kinds`, on that server's own instance of the service or the bare project."""
    return [
        Case(f"{case.name}@{kind}", case.path, server=f"{case.server}@{kind}", headers=case.headers)
        for kind in kinds
        for case in cases
        if case.name in SERVER_CASES
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round per case on small data")
    parser.add_argument("--rounds", type=int, help="rounds of every case (default 3, with --quick 1)")
    parser.add_argument("--seconds", type=float, help="wrk duration per case and round (default 8, with --quick 2)")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--database",
        default=os.environ.get("BENCH_DATABASE", "drm_bench"),
        help="the bench's own PostgreSQL database, created when missing (BENCH_DATABASE; --quick adds _quick)",
    )
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument("--delivery-messages", type=int, default=3000)
    parser.add_argument("--pacing-messages-per-sender", type=int, default=20,
                        help=f"the pacing measure's messages per sender ({PACING_SENDERS} senders)")  # fmt: skip
    parser.add_argument(
        "--cases", "--only", default="", help="comma-separated case names to run (bare_django and health_live always "
        f"run; {' and '.join(f'`{name}`' for name in MEASURES)} are the measures after them, `tracing` names what "
        "tracing and Sentry cost while off, `team` the typical DRF team's cells); skips the soak"
    )  # fmt: skip
    parser.add_argument(
        "--servers", default="", help=f"comma-separated servers ({', '.join(SERVER_KINDS)}) to measure the service "
        "and the bare project under beside the run's own, each with its slow-client probe"
    )  # fmt: skip
    args = parser.parse_args()
    kinds = [kind for kind in args.servers.split(",") if kind]
    if unknown := set(kinds) - set(SERVER_KINDS):
        parser.error(f"unknown servers: {', '.join(sorted(unknown))}")

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    rounds = args.rounds or (1 if args.quick else 3)
    seconds = args.seconds or (2.0 if args.quick else 8.0)
    database = f"{args.database}_quick" if args.quick else args.database
    if args.quick:  # few connections: on a busy machine 32 of them can keep a slow case from finishing any request
        args.connections = min(args.connections, 8)

    for port, name in ((5432, "PostgreSQL"), (6379, "Redis"), (5672, "RabbitMQ")):
        if not port_answers(port):
            raise SystemExit(f"{name} does not answer on 127.0.0.1:{port}")
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="drm-bench-"))
    port, baseline_port, gateway_port, absent_port = free_port(), free_port(), free_port(), free_port()
    team_port = free_port()
    kind_ports = {f"{server}@{kind}": free_port() for kind in kinds for server in (SERVICE, BASELINE)}
    env = service_env(database, workdir, port)
    urls = {server: f"http://127.0.0.1:{server_port}" for server, server_port in
            ((SERVICE, port), (BASELINE, baseline_port), (TRACING_ABSENT, absent_port), (TEAM, team_port),
             *kind_ports.items())}  # fmt: skip

    ensure_database(database)
    log("migrating")
    manage(env, "migrate", "--noinput")
    log(f"seeding (reused when the sizes match): {sizes}")
    print(manage(env, "seed_demo", *[f"--{key.replace('_', '-')}={value}" for key, value in sizes.items()], "--reuse"),
          end="")  # fmt: skip
    # Tasks left on the broker by another run must not reach this run's worker.
    subprocess.run([PYTHON, "-m", "celery", "-A", "config", "purge", "-f"],  # noqa: S603
                   cwd=BASE_DIR, env=env, capture_output=True, check=False, timeout=60)  # fmt: skip
    prepared = run_module(env, "bench.prepare")
    only = {name for name in args.cases.split(",") if name}
    if "tracing" in only:
        only |= TRACING_CASES
    if "team" in only:
        only |= TEAM_CASES
    cases = [case for case in cases_for(prepared) if not only or case.name in only | ALWAYS]
    cases += server_cases(cases_for(prepared), kinds)
    absent_env = tracing_absent_env(env, workdir, absent_port)
    for package in TRACING_PACKAGES:
        if importable(absent_env, package):
            raise SystemExit(f"{package} is still importable where the bench made it absent")

    gunicorn = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py"]
    worker_env = {**env, "SMS_BACKEND": "apps.messages.backends.http.HttpGatewayBackend",
                  "SMS_GATEWAY_URL": f"http://127.0.0.1:{gateway_port}/messages"}  # fmt: skip
    # A node name of its own: another worker on this broker (another checkout) must not make this one fail to start.
    worker = [PYTHON, "-m", "celery", "-A", "config", "worker", "-c", "2",
              "-n", f"bench-{os.getpid()}@%h", "--loglevel=WARNING", "--without-gossip",
              "--without-mingle"]  # fmt: skip
    processes = [
        start([*gunicorn, "config.wsgi"], env, workdir / "gunicorn.log"),
        start([*gunicorn, "bench.baseline.wsgi"], baseline_env(database, baseline_port), workdir / "baseline.log"),
        start(worker, worker_env, workdir / "worker.log"),
        start([PYTHON, "-m", "bench.gateway", str(gateway_port), str(GATEWAY_DELAY_MS)], env, workdir / "gw.log"),
    ]
    # Whose CPU is whose (bench/cpu.py): each server the cases load, and the Celery workers.
    parts = {processes[0].pid: SERVICE, processes[1].pid: BASELINE, processes[2].pid: WORKERS}
    if any(case.server == TRACING_ABSENT for case in cases):
        processes.append(start([*gunicorn, "config.wsgi"], absent_env, workdir / "gunicorn-tracing-absent.log"))
        parts[processes[-1].pid] = TRACING_ABSENT
    if any(case.server == TEAM for case in cases):
        processes.append(start([*gunicorn, "bench.team.wsgi"], team_env(database, team_port), workdir / "team.log"))
        parts[processes[-1].pid] = TEAM
        team_worker = [PYTHON, "-m", "celery", "-A", "bench.team", "worker", "-c", "2", "-Q", "team-bench",
                       "-n", f"team-{os.getpid()}@%h", "--loglevel=WARNING", "--without-gossip",
                       "--without-mingle"]  # fmt: skip
        processes.append(start(team_worker, team_env(database, team_port), workdir / "team-worker.log"))
        parts[processes[-1].pid] = WORKERS
    for kind in kinds:
        service_kind_env = {**env, "PROMETHEUS_MULTIPROC_DIR": str(workdir / f"prometheus-{kind}")}
        for server, module, server_env in ((SERVICE, "config.wsgi", service_kind_env),
                                           (BASELINE, "bench.baseline.wsgi", baseline_env(database, 0))):  # fmt: skip
            command, command_env = server_command(kind, module, kind_ports[f"{server}@{kind}"], server_env)
            processes.append(start(command, command_env, workdir / f"{server}-{kind}.log"))
            parts[processes[-1].pid] = f"{server}@{kind}"
    soak = None
    delivery = pacing = None
    slow_clients: dict[str, Any] = {}
    try:
        auth = {"Authorization": f"Bearer {prepared['token']}"}
        for server in {case.server for case in cases}:
            if server.startswith(BASELINE):
                wait_http(f"{urls[server]}/bare/")
            elif server == TEAM:
                wait_http(f"{urls[server]}/products/?page=1", headers=auth)
            else:
                wait_http(f"{urls[server]}/health/live/")
        wait_http(f"http://127.0.0.1:{gateway_port}/stats")
        results = run_cases(
            wrk, urls, workdir, cases, rounds=rounds, seconds=seconds, args=args, database=database, parts=parts
        )
        probed = [("default", port), *((kind, kind_ports[f"{SERVICE}@{kind}"]) for kind in kinds)] if kinds else []
        for kind, kind_port in probed:
            log(f"slow clients: two bodies dripped a byte a second into {kind}, /health/live/ probed meanwhile")
            slow_clients[kind] = probe_under_drip(kind_port, drip_path="/api/v1/messages/", headers=auth,
                                                  probe_path="/health/live/")  # fmt: skip
        if not only or "delivery" in only:
            count = 300 if args.quick else args.delivery_messages
            log(f"delivery: {count} messages through the worker to a gateway answering in {GATEWAY_DELAY_MS} ms")
            # The cases before it created messages too, which the worker delivered through the same gateway: count
            # only the posts and keys this delivery run added.
            before = get_json(f"http://127.0.0.1:{gateway_port}/stats")
            delivery = run_module(env, "bench.delivery", "throughput", str(count), "120" if args.quick else "300",
                                  timeout=900)  # fmt: skip
            stats = get_json(f"http://127.0.0.1:{gateway_port}/stats")
            delivery.update(gateway_delay_ms=GATEWAY_DELAY_MS, gateway_posts=stats["posts"] - before["posts"],
                            gateway_distinct_keys=stats["distinct_keys"] - before["distinct_keys"])  # fmt: skip
        if not only or "pacing" in only:
            senders, per_sender = (10, 3) if args.quick else (PACING_SENDERS, args.pacing_messages_per_sender)
            log(f"pacing: {senders} senders at {PACING_RATE:g} segment/s each, {per_sender} one-part messages each, "
                "through the worker's 2 processes")  # fmt: skip
            pacing = run_module(env, "bench.delivery", "pacing", str(senders), str(per_sender), str(PACING_RATE),
                                str(per_sender / PACING_RATE * 3 + 60), timeout=900)  # fmt: skip
            pacing["gateway_delay_ms"] = GATEWAY_DELAY_MS
        if not only:
            # The soak signs in for real: a web process whose login limit is out of the way.
            stop(processes[0])
            processes[0] = start([*gunicorn, "config.wsgi"], {**env, "THROTTLE_RATE_LOGIN": "100000000/min"},
                                 workdir / "gunicorn-soak.log")  # fmt: skip
            wait_http(f"{urls[SERVICE]}/health/live/")
            soak_seconds, soak_clients = (5.0, 4) if args.quick else (args.soak_seconds, 16)
            log(f"soak: {soak_seconds:.0f} s, {soak_clients} clients")
            soak = run_soak(
                urls[SERVICE],
                accounts=[(f"demo-user-{n}@example.com", DEMO_PASSWORD) for n in range(soak_clients)],
                product_ids=prepared["product_ids"],
                seconds=soak_seconds,
                clients=soak_clients,
                web_pid=processes[0].pid,
                worker_pid=processes[2].pid,
                message_status=lambda ids: message_statuses(database, ids),
            )
    finally:
        for process in processes:
            stop(process)

    settings = {"rounds": rounds, "seconds": seconds, "connections": args.connections, "wrk_threads": args.threads,
                "gunicorn_workers": os.environ.get("GUNICORN_WORKERS", "2"), "sizes": sizes,
                "only": sorted(only)}  # fmt: skip
    report = build_report(results, prepared, delivery, pacing=pacing, quick=args.quick, settings=settings)
    report["slow_clients"] = slow_clients
    if soak is not None:
        report["soak"] = soak
        report["checks"]["soak"] = soak["passed"]
    markdown = render_markdown(report)
    # A run of some cases (--cases) writes its figures too: its report names what it ran.
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "latest"
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)
    print(markdown)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def warm_up(urls: dict[str, str], cases: list[Case]) -> None:
    for case in cases:
        # The throttled-login case starts once the login limit is spent, so warm it until it answers 429 (run_cases
        # does it again before each round).
        for _ in range(12 if case.name == LOGIN_THROTTLED else 3):
            request = urllib.request.Request(  # noqa: S310 - our own servers on 127.0.0.1
                urls[case.server] + case.path.replace("{random}", "1"),
                method=case.method,
                headers=dict(case.headers),
                data=case.body.encode() if case.body else None,
            )
            try:
                urllib.request.urlopen(request, timeout=30).read()  # noqa: S310
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    break
            except OSError:
                pass


def run_cases(
    wrk: str, urls: dict[str, str], workdir: Path, cases: list[Case], *, rounds: int, seconds: float,
    args: argparse.Namespace, database: str, parts: dict[int, str],
) -> dict[str, CaseResult]:  # fmt: skip
    results = {case.name: CaseResult(case.name, case.path, server=case.server) for case in cases}
    log("warming up")
    warm_up(urls, cases)
    for round_number in range(1, rounds + 1):
        log(f"round {round_number}/{rounds}")
        for case in cases:
            if case.name == LOGIN_THROTTLED:
                warm_up(urls, [case])
            script = lua_script(workdir, case.name, case.method, dict(case.headers), case.body, case.path)
            connections = case.connections or args.connections
            url = urls[case.server] + case.path.replace("{random}", "1")
            before = CpuSnapshot(parts)
            figures = run_wrk(wrk, url, script, seconds=seconds, connections=connections,
                              threads=min(args.threads, connections))  # fmt: skip
            result = results[case.name]
            result.add_cpu(CpuSnapshot(parts).seconds_since(before))
            result.rps.append(figures["rps"])
            result.p50_ms.append(figures["p50_ms"])
            result.p99_ms.append(figures["p99_ms"])
            result.requests += int(figures["requests"])
            result.unexpected += int(figures["non2xx"]) if case.expect_ok else 0
            result.socket_errors += int(figures["socket_errors"])
            if case.creates_messages:
                wait_for_deliveries(database)
    return results


def wait_for_deliveries(database: str, timeout: float = DRAIN_TIMEOUT_SECONDS) -> None:
    """Until no message is queued (the worker delivered what the case created), or `timeout` seconds."""
    started = time.monotonic()
    while (queued := queued_messages(database)) and time.monotonic() - started < timeout:
        time.sleep(0.25)
    log(f"deliveries drained in {time.monotonic() - started:.1f} s" + (f", {queued} still queued" if queued else ""))


if __name__ == "__main__":
    sys.exit(main())
