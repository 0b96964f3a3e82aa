"""`make bench`: the service under gunicorn on PostgreSQL, Redis and RabbitMQ, loaded by wrk on 127.0.0.1.

Every case is reported as req/s, p50/p99 latency and errors, and as a ratio to `/health/live/` measured in the
same run (the machines are shared and noisy: only ratios from one run compare). Results go to
bench/results/latest.json and latest.md. `--quick` runs one short round on small data (the test suite does, so
the harness cannot rot).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.soak import run_soak

BASE_DIR = Path(__file__).resolve().parent.parent
DEMO_PASSWORD = "demo-password-change-me"  # noqa: S105 - seed_demo's demo accounts
RESULTS_DIR = Path(os.environ.get("BENCH_RESULTS_DIR", BASE_DIR / "bench" / "results"))
PYTHON = sys.executable

FULL_SIZES = {
    "categories": 20,
    "products": 10_000,
    "users": 1_000,
    "messages": 1_000_000,
    "heavy_accounts": 5,
    "heavy_messages": 100_000,
}
QUICK_SIZES = {
    "categories": 5,
    "products": 300,
    "users": 20,
    "messages": 6_000,
    "heavy_accounts": 1,
    "heavy_messages": 3_000,
}

TARGETS = {
    "catalog_cached": 0.60,
    "catalog_uncached": 0.20,
    "product_detail": 0.60,
    "message_create": 0.15,
    "message_search": 0.20,
    "login_throttled": 0.40,
}


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

    def summary(self, baseline_rps: float | None) -> dict[str, Any]:
        rps = statistics.median(self.rps) if self.rps else 0.0
        return {
            "case": self.name,
            "path": self.path,
            "rps": round(rps, 1),
            "p50_ms": round(statistics.median(self.p50_ms), 2) if self.p50_ms else None,
            "p99_ms": round(statistics.median(self.p99_ms), 2) if self.p99_ms else None,
            "requests": self.requests,
            "errors": self.unexpected + self.socket_errors,
            "ratio": round(rps / baseline_rps, 3) if baseline_rps else None,
            "target": TARGETS.get(self.name),
        }


# --- processes and services --------------------------------------------------------------------------------------


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def port_answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from Debian's packages")
        subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, check=False)  # noqa: S607
        if not shutil.which("wrk"):
            subprocess.run(["apt-get", "update"], capture_output=True, check=False)  # noqa: S607
            subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True, check=False)  # noqa: S607
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is not installed and could not be installed (apt-get install wrk)")
    return found


def service_env(database: str, workdir: Path, port: int) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "CELERY_"))}
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "SECRET_KEY": "bench-only-secret-bench-only-secret-bench-only-secret-0123456789",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
            "CONN_MAX_AGE": "600",
            "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/7"),
            "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL", "amqp://guest:guest@127.0.0.1:5672//"),
            "CACHE_KEY_PREFIX": f"bench-{database}",
            "THROTTLE_RATE_ANON": "100000000/min",
            "THROTTLE_RATE_USER": "100000000/min",
            "THROTTLE_RATE_LOGIN": "5/min",
            "JWT_ACCESS_MINUTES": "240",
            "SMS_BACKEND": "apps.messages.backends.locmem.LocmemBackend",
            "LOG_DIR": str(workdir / "logs"),
            "LOG_LEVEL": "WARNING",
            "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus"),
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": os.environ.get("GUNICORN_WORKERS", "2"),
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 3600) -> str:
    result = subprocess.run(  # noqa: S603
        [PYTHON, "manage.py", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return result.stdout


def django_script(env: dict[str, str], code: str, timeout: float = 600) -> Any:
    """Run `code` with Django set up; it must print one JSON line last."""
    prelude = "import django, json\ndjango.setup()\n"
    result = subprocess.run(  # noqa: S603
        [PYTHON, "-c", prelude + code], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )
    if result.returncode != 0:
        raise SystemExit(f"bench script failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def message_statuses(database: str, message_ids: list[str]) -> dict[str, str]:
    import psycopg

    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{database}") as conn:
        rows = conn.execute(
            "SELECT message_id, status FROM messaging_message WHERE message_id = ANY(%s)", [message_ids]
        ).fetchall()
    return dict(rows)


def ensure_database(name: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def start(args: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen:
    handle = logfile.open("w")
    return subprocess.Popen(  # noqa: S603
        args, cwd=BASE_DIR, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except Exception:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {timeout}s")


# --- wrk ---------------------------------------------------------------------------------------------------------

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
    path = workdir / f"{name}.lua"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(wrk: str, url: str, script: Path, *, seconds: float, connections: int, threads: int) -> dict[str, float]:
    command = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)  # noqa: S603
    figures = parse_wrk(result.stdout)
    if not figures["rps"]:
        log(f"wrk measured nothing for {url}:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return figures


# --- the run -----------------------------------------------------------------------------------------------------

PREPARE = """
import uuid
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken
from apps.users.models import User
from apps.products.models import Product
from apps.messages.models import Message
from django.db.models import Count

heavy = (Message.objects.values("account_id").annotate(n=Count("id")).order_by("-n").first())
owner = User.objects.get(account_id=heavy["account_id"])
sender = Message.objects.filter(account_id=owner.account_id).values_list("sender_number", flat=True).first()
product_ids = list(Product.objects.order_by("-created_at").values_list("id", flat=True)[:50])
product = product_ids[0]
bench_user, _ = User.objects.get_or_create(email="bench-login@example.com", defaults={"full_name": "Bench"})
bench_user.set_password("bench-password-not-this-one")
bench_user.save()

client = APIClient(HTTP_HOST="127.0.0.1")
client.force_authenticate(owner)
queries = {}
for path in ["/api/v1/products/", "/api/v1/categories/", "/api/v1/messages/", "/api/v1/messages/search/",
             f"/api/v1/accounts/{owner.account_id}/messages/"]:
    counts = []
    for size in (5, 100):
        cache.clear()  # the bench's own cache database: every read is measured with nothing cached yet
        with CaptureQueriesContext(connection) as captured:
            status = client.get(path, {"page_size": size, "search": f"nocache-{uuid.uuid4().hex}"} if "products" in path
                                else {"page_size": size}).status_code
        counts.append(len(captured))
    queries[path.replace(str(owner.account_id), "{account_id}")] = {"page_size_5": counts[0],
                                                                     "page_size_100": counts[1], "status": status}
print(json.dumps({
    "token": str(RefreshToken.for_user(owner).access_token),
    "account_id": str(owner.account_id),
    "account_messages": heavy["n"],
    "sender": sender,
    "product_id": product,
    "product_ids": product_ids,
    "queries": queries,
}))
"""

DELIVERY = """
import random
import time
from apps.messages.models import Message
from apps.messages.tasks import deliver_message_task
from apps.users.models import User
count = {count}
owner = User.objects.order_by("id").first()
# A sender of this run's own: the progress check is then one cheap indexed count, not a query over every id, which
# took the worker's CPU while it was being measured.
sender = f"+1556{{random.randint(1_000_000, 9_999_999)}}"
messages = Message.objects.bulk_create(
    [Message(account_id=owner.account_id, sender_number=sender, receiver_number="+15550000002",
             body=f"delivery bench {{n}}") for n in range(count)]
)
ids = [m.pk for m in messages]
started = time.perf_counter()
for pk in ids:
    deliver_message_task.delay(pk)
deadline = started + {timeout}
while time.perf_counter() < deadline:
    sent = Message.objects.filter(account_id=owner.account_id, sender_number=sender, status="sent").count()
    if sent == count:
        break
    time.sleep(0.1)
elapsed = time.perf_counter() - started
print(json.dumps({{"messages": count, "sent": sent, "seconds": round(elapsed, 3),
                  "per_second": round(sent / elapsed, 1)}}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one short round per case on small data")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0, help="wrk duration per case and round")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--database", default=None)
    parser.add_argument("--soak-seconds", type=float, default=60.0)
    parser.add_argument(
        "--cases",
        default="",
        help="comma-separated case names to run (health_live always runs); skips delivery and soak",
    )
    args = parser.parse_args()

    sizes = QUICK_SIZES if args.quick else FULL_SIZES
    rounds = 1 if args.quick else args.rounds
    seconds = 2.0 if args.quick else args.seconds
    database = args.database or ("drm_bench_quick" if args.quick else "drm_bench")

    for port, name in ((5432, "PostgreSQL"), (6379, "Redis"), (5672, "RabbitMQ")):
        if not port_answers(port):
            raise SystemExit(f"{name} does not answer on 127.0.0.1:{port}")
    wrk = ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="drm-bench-"))
    port = free_port()
    env = service_env(database, workdir, port)
    base_url = f"http://127.0.0.1:{port}"

    ensure_database(database)
    log("migrating")
    manage(env, "migrate", "--noinput")
    log(f"seeding (reused when the sizes match): {sizes}")
    seed_args = [f"--{key.replace('_', '-')}={value}" for key, value in sizes.items()]
    print(manage(env, "seed_demo", *seed_args, "--reuse"), end="")
    # Tasks left on the shared broker by another run must not reach this run's worker.
    subprocess.run(  # noqa: S603
        [PYTHON, "-m", "celery", "-A", "config", "purge", "-f", "-Q", "critical,default,low"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        check=False,
        timeout=60,
    )
    prepared = django_script(env, PREPARE)

    gunicorn = [PYTHON, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
    # A node name of its own: another worker on this broker (another checkout) must not make this one fail to start.
    worker = [PYTHON, "-m", "celery", "-A", "config", "worker", "-Q", "critical,default,low", "-c", "2",
              "-n", f"bench-{os.getpid()}@%h", "--loglevel=WARNING", "--without-gossip",
              "--without-mingle"]  # fmt: skip
    processes = [start(gunicorn, env, workdir / "gunicorn.log"), start(worker, env, workdir / "worker.log")]
    try:
        wait_http(f"{base_url}/health/live/")
        only = {name for name in args.cases.split(",") if name}
        results = run_cases(
            wrk, base_url, workdir, prepared, rounds=rounds, seconds=seconds, connections=args.connections, only=only
        )
        if only:
            report = build_report(results, prepared, None, sizes, args, rounds, seconds)
            print(render_markdown(report))
            return 0
        delivery_count = 300 if args.quick else 3000
        log(f"delivery: {delivery_count} messages through the worker")
        delivery = django_script(env, DELIVERY.format(count=delivery_count, timeout=120 if args.quick else 300))
        # The soak signs in for real: a web process whose login limit is out of the way.
        stop(processes[0])
        soak_env = {**env, "THROTTLE_RATE_LOGIN": "100000000/min"}
        processes[0] = start(gunicorn, soak_env, workdir / "gunicorn-soak.log")
        wait_http(f"{base_url}/health/live/")
        soak_seconds, soak_clients = (5.0, 4) if args.quick else (args.soak_seconds, 16)
        log(f"soak: {soak_seconds:.0f} s, {soak_clients} clients")
        soak = run_soak(
            base_url,
            accounts=[(f"demo-user-{n}@example.com", DEMO_PASSWORD) for n in range(soak_clients)],
            product_ids=prepared["product_ids"],
            seconds=soak_seconds,
            clients=soak_clients,
            web_pid=processes[0].pid,
            worker_pid=processes[1].pid,
            message_status=lambda ids: message_statuses(database, ids),
        )
    finally:
        for process in processes:
            stop(process)

    report = build_report(results, prepared, delivery, sizes, args, rounds, seconds)
    report["soak"] = soak
    report["checks"]["soak"] = soak["passed"]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stem = "quick" if args.quick else "latest"
    (RESULTS_DIR / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    markdown = render_markdown(report)
    (RESULTS_DIR / f"{stem}.md").write_text(markdown)
    print(markdown)
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


def run_cases(
    wrk: str,
    base_url: str,
    workdir: Path,
    prepared: dict[str, Any],
    *,
    rounds: int,
    seconds: float,
    connections: int,
    only: set[str] | None = None,
) -> dict[str, CaseResult]:
    auth = {"Authorization": f"Bearer {prepared['token']}"}
    json_auth = {**auth, "Content-Type": "application/json"}
    account = prepared["account_id"]
    sender = urllib.request.quote(prepared["sender"] or "")
    message_body = json.dumps({"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "bench"})
    login_body = json.dumps({"email": "bench-login@example.com", "password": "wrong-password-for-the-bench"})
    cases = [
        # name, path, method, headers, body, connections, expected 2xx?
        ("health_live", "/health/live/", "GET", {}, None, connections, True),
        ("catalog_cached", "/api/v1/products/?page=1", "GET", auth, None, connections, True),
        (
            "catalog_uncached",
            # A different max_price on every request: each one misses the response cache.
            "/api/v1/products/?min_price=1&max_price={random}&ordering=-price&is_available=true",
            "GET",
            auth,
            None,
            connections,
            True,
        ),
        ("product_detail", f"/api/v1/products/{prepared['product_id']}/", "GET", auth, None, connections, True),
        ("message_create", "/api/v1/messages/", "POST", json_auth, message_body, connections, True),
        ("message_search", f"/api/v1/messages/search/?sender_number={sender}", "GET", auth, None, connections, True),
        ("message_search_1conn", f"/api/v1/messages/search/?sender_number={sender}", "GET", auth, None, 1, True),
        ("account_page_1", f"/api/v1/accounts/{account}/messages/?page=1", "GET", auth, None, connections, True),
        (
            "account_page_1000",
            f"/api/v1/accounts/{account}/messages/?page=1000",
            "GET",
            auth,
            None,
            connections,
            True,
        ),
        (
            "login_throttled",
            "/api/v1/auth/login/",
            "POST",
            {"Content-Type": "application/json"},
            login_body,
            connections,
            False,
        ),
    ]
    if prepared["account_messages"] < 20_000:
        cases = [case for case in cases if case[0] != "account_page_1000"]
    if only:
        cases = [case for case in cases if case[0] in only or case[0] == "health_live"]
    results = {name: CaseResult(name, path) for name, path, *_ in cases}

    log("warming up")
    for name, path, method, headers, body, *_ in cases:
        # The throttled-login case starts once the login limit is spent, so warm it until it answers 429.
        for _ in range(12 if name == "login_throttled" else 3):
            request = urllib.request.Request(  # noqa: S310 - our own server on 127.0.0.1
                base_url + path.replace("{random}", "1"),
                method=method,
                headers=headers,
                data=body.encode() if body else None,
            )
            try:
                urllib.request.urlopen(request, timeout=30).read()  # noqa: S310
            except urllib.error.HTTPError as error:
                if error.code == 429:
                    break
            except OSError:
                pass
    for round_number in range(1, rounds + 1):
        log(f"round {round_number}/{rounds}")
        for name, path, method, headers, body, conns, expect_ok in cases:
            script = lua_script(workdir, name, method, headers, body, path)
            threads = 1 if conns == 1 else 2
            url = base_url + path.replace("{random}", "1")
            figures = run_wrk(wrk, url, script, seconds=seconds, connections=conns, threads=threads)
            result = results[name]
            result.rps.append(figures["rps"])
            result.p50_ms.append(figures["p50_ms"])
            result.p99_ms.append(figures["p99_ms"])
            result.requests += int(figures["requests"])
            result.unexpected += int(figures["non2xx"]) if expect_ok else 0
            result.socket_errors += int(figures["socket_errors"])
    return results


def build_report(
    results: dict[str, CaseResult],
    prepared: dict[str, Any],
    delivery: dict[str, Any] | None,
    sizes: dict[str, int],
    args: argparse.Namespace,
    rounds: int,
    seconds: float,
) -> dict[str, Any]:
    baseline = statistics.median(results["health_live"].rps) if results["health_live"].rps else None
    cases = [result.summary(baseline) for result in results.values()]
    by_name = {case["case"]: case for case in cases}
    checks = {name: (by_name[name]["ratio"] or 0) >= target for name, target in TARGETS.items() if name in by_name}
    if "message_search_1conn" in by_name:
        checks["message_search_p99_1conn_le_15ms"] = (by_name["message_search_1conn"]["p99_ms"] or 1e9) <= 15
    if "account_page_1000" in by_name and by_name["account_page_1000"]["rps"]:
        cost_ratio = by_name["account_page_1"]["rps"] / by_name["account_page_1000"]["rps"]
        by_name["account_page_1000"]["cost_vs_page_1"] = round(cost_ratio, 2)
        checks["deep_page_le_3x_page_1"] = cost_ratio <= 3
    if delivery is not None:
        checks["delivery_ge_300_per_s"] = delivery["per_second"] >= 300 and delivery["sent"] == delivery["messages"]
    constant = all(q["page_size_5"] == q["page_size_100"] for q in prepared["queries"].values())
    checks["queries_constant"] = constant
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": args.quick,
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count()},
        "versions": _versions(),
        "settings": {
            "rounds": rounds,
            "seconds": seconds,
            "connections": args.connections,
            "gunicorn_workers": os.environ.get("GUNICORN_WORKERS", "2"),
            "sizes": sizes,
        },
        "cases": cases,
        "delivery": delivery,
        "queries": prepared["queries"],
        "checks": checks,
    }


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ["django", "djangorestframework", "djangorestframework-simplejwt", "celery", "gunicorn", "psycopg"]
    return {name: version(name) for name in names}


def render_markdown(report: dict[str, Any]) -> str:
    lines = [
        f"# Benchmark {report['when']}{' (quick)' if report['quick'] else ''}",
        "",
        "| case | path | req/s | p50 ms | p99 ms | errors | ratio to /health/live/ | target |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for case in report["cases"]:
        target = f"≥ {case['target']}" if case["target"] else ""
        lines.append(
            f"| {case['case']} | `{case['path'][:60]}` | {case['rps']} | {case['p50_ms']} | {case['p99_ms']} | "
            f"{case['errors']} | {case['ratio']} | {target} |"
        )
    delivery = report["delivery"]
    if delivery is not None:
        lines += [
            "",
            f"Delivery: {delivery['sent']}/{delivery['messages']} messages sent in {delivery['seconds']} s "
            f"= {delivery['per_second']} messages/s (target ≥ 300).",
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
        "Checks: " + ", ".join(f"{name} {'✓' if ok else '✗'}" for name, ok in report["checks"].items()),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
