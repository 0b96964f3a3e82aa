"""Profile one benchmark case in-process: `python -m bench.profile catalog_cached [--requests N] [--html out.html]`.

Requests go straight into Django's WSGI handler (no socket, no gunicorn) with the bench's production settings and
servers, so the profile shows only the service's own time. Run `make bench` once first: it seeds the database
this reads. `--cprofile` prints cProfile's top functions instead of pyinstrument's tree.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import baseline_env, service_env

CASES = ("health_live", "catalog_cached", "catalog_uncached", "product_detail", "message_create", "message_search",
         "account_page_1", "account_page_1000", "login_throttled", "delivery")  # fmt: skip
# The bench's yardsticks, served by bench/baseline: the bare view (what every ratio divides by) and stock DRF's
# anonymous cache_page.
YARDSTICKS = {"bare": "/bare/", "stock_drf_cached": "/cached/products/?page=1"}


def _environ(method: str, path: str, headers: dict[str, str], body: bytes) -> dict[str, Any]:
    path_info, _, query = path.partition("?")
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path_info,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.version": (1, 0),
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "CONTENT_LENGTH": str(len(body)),
    }
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        environ[key if key == "CONTENT_TYPE" else f"HTTP_{key}"] = value
    return environ


def _use_project_env(case: str, database: str) -> None:
    """Put in this process's environment what the bench's server of `case` runs with (the yardsticks' project or
    the service, on the bench's database), less the address: requests go straight into the WSGI handler."""
    if case in YARDSTICKS:
        env = baseline_env(database, 0)
    else:
        env = service_env(database, Path(tempfile.mkdtemp(prefix="drm-profile-")), 8000)
    env.pop("GUNICORN_BIND")
    os.environ.update(env)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("case", choices=[*CASES, *YARDSTICKS])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--database", default=os.environ.get("BENCH_DATABASE", "drm_bench"))
    parser.add_argument("--cprofile", action="store_true")
    parser.add_argument("--html", default=None)
    parser.add_argument(
        "--settings", default=None, help="a settings module to measure instead of production's (e.g. one that drops a "
        "middleware, to weigh it)"
    )  # fmt: skip
    parser.add_argument("--plain", action="store_true", help="time the requests without a profiler")
    parser.add_argument(
        "--middleware-costs", action="store_true", help="what each middleware costs the case: the whole stack and the "
        "stack without each one in turn, interleaved over --rounds, as CPU per request (with --instructions: as "
        "instructions per request, each stack counted by callgrind, one process per core)"
    )  # fmt: skip
    parser.add_argument("--without", default=None, help="a middleware (dotted path) left out of the stack")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --middleware-costs")
    parser.add_argument(
        "--instructions", action="store_true", help="instructions per request, counted by valgrind's callgrind over "
        "--requests and three times as many (their difference, so start-up cancels out): the same figure however "
        "busy the machine, for the process's own work only (no system calls, no server's time)"
    )  # fmt: skip
    args = parser.parse_args()
    if args.instructions and args.middleware_costs:
        return _middleware_instructions(args.case, args.requests, args.database)
    if args.instructions:
        count = _instructions_per_request(args.case, args.requests, args.database)
        print(f"{args.case}: {count:,.0f} instructions per request (callgrind)")
        return 0

    _use_project_env(args.case, args.database)
    if args.settings:
        os.environ["DJANGO_SETTINGS_MODULE"] = args.settings
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

    import django

    django.setup()
    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    if args.without:
        if args.without not in settings.MIDDLEWARE:  # a misspelt name would measure the whole stack unsaid
            raise SystemExit(f"--without {args.without}: not in MIDDLEWARE")
        settings.MIDDLEWARE = [name for name in settings.MIDDLEWARE if name != args.without]
        print(f"without {args.without}: {len(settings.MIDDLEWARE)} middleware")

    requests: dict[str, tuple[str, str, dict[str, str], bytes]]
    if args.case in YARDSTICKS:
        owner, requests = None, {args.case: ("GET", YARDSTICKS[args.case], {}, b"")}
    else:
        owner, requests = _service_requests()

    if args.middleware_costs:
        method, path, headers, body = requests[args.case]
        _middleware_costs(args.case, method, path, headers, body, requests=args.requests, rounds=args.rounds)
        return 0
    if args.case == "delivery":
        run = _delivery_runner(owner)
    else:
        handler = WSGIHandler()
        method, path, headers, body = requests[args.case]

        fresh = int(time.time() * 1000)  # "{n}" differs in every request of every run: an uncached read stays one

        def run(n: int) -> None:
            statuses: list[str] = []
            url = path.replace("{n}", str(fresh % 100_000 * 100 + n))

            def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
                statuses.append(status)
                return lambda data: None

            handler(_environ(method, url, headers, body), start_response).close()  # as a WSGI server does
            if n == 0:
                print(f"first answer: {statuses[0]}")

    for n in range(min(50, args.requests)):  # warm caches, connections and imports
        run(n)
    started, cpu_started = time.perf_counter(), time.process_time()
    if args.plain:
        latencies = []
        for n in range(args.requests):
            request_started = time.perf_counter()
            run(n + 100_000)
            latencies.append(1000 * (time.perf_counter() - request_started))
        elapsed = time.perf_counter() - started
        latencies.sort()
        print(f"latency ms: p50 {latencies[len(latencies) // 2]:.2f}, p99 {latencies[len(latencies) * 99 // 100]:.2f}, "
              f"max {latencies[-1]:.2f}")  # fmt: skip
    elif args.cprofile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for n in range(args.requests):
            run(n + 100_000)
        profiler.disable()
        elapsed = time.perf_counter() - started
        if os.environ.get("PROFILE_OUT"):  # for pstats' callers and callees
            profiler.dump_stats(os.environ["PROFILE_OUT"])
        pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
            int(os.environ.get("TOP", "45"))
        )
    else:
        from pyinstrument import Profiler

        sampler = Profiler(interval=0.0002)
        sampler.start()
        for n in range(args.requests):
            run(n + 100_000)
        sampler.stop()
        elapsed = time.perf_counter() - started
        print(sampler.output_text(unicode=True, color=False, show_all=False))
        if args.html:
            Path(args.html).write_text(sampler.output_html())
    cpu_ms = 1000 * (time.process_time() - cpu_started) / args.requests
    print(f"{args.case}: {args.requests} in {elapsed:.2f} s = {1000 * elapsed / args.requests:.2f} ms each "
          f"({cpu_ms:.2f} ms of CPU)")  # fmt: skip
    return 0


def _middleware_costs(
    case: str, method: str, path: str, headers: dict[str, str], body: bytes, *, requests: int, rounds: int
) -> None:
    """Print the CPU per request of the whole middleware stack and of the stack without each middleware, measured
    interleaved (every variant once per round, in a new random order each round) so the machine's drift falls on
    all of them alike; the median of the rounds, and the difference to the whole stack: what that middleware costs
    on this request. The whole stack is measured twice, as two variants: their difference is the noise."""
    import random
    import statistics

    from django.conf import settings
    from django.core.handlers.wsgi import WSGIHandler

    stack = list(settings.MIDDLEWARE)
    variants: dict[str, Any] = {}
    for dropped in ["", "again", *stack]:
        settings.MIDDLEWARE = [name for name in stack if name != dropped]
        variants[dropped] = WSGIHandler()  # loads settings.MIDDLEWARE now
    for label, swaps in STOCK_MIDDLEWARE.items():
        if any(ours in stack for ours in swaps):
            settings.MIDDLEWARE = [item for name in stack for item in swaps.get(name, [name])]
            variants[label] = WSGIHandler()
    settings.MIDDLEWARE = stack
    statuses: dict[str, set[str]] = {name: set() for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}

    def measure(name: str, count: int) -> float:
        def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Callable[[bytes], object]:
            statuses[name].add(status.split(maxsplit=1)[0])
            return lambda data: None

        handler = variants[name]
        started = time.process_time()
        for n in range(count):
            handler(_environ(method, path.replace("{n}", str(n)), headers, body), start_response).close()
        return 1000 * (time.process_time() - started) / count

    for name in variants:
        measure(name, 30)  # warm each stack
    order = list(variants)
    for _ in range(rounds):
        random.shuffle(order)
        for name in order:
            cpu[name].append(measure(name, requests))
    whole = statistics.median(cpu[""])
    print(f"{case}: {requests} requests x {rounds} rounds per stack, CPU ms per request (median of rounds)")
    print(f"{'whole stack':60} {whole:6.3f}  statuses {sorted(statuses[''])}")
    for name in ["again", *stack, *(label for label in STOCK_MIDDLEWARE if label in variants)]:
        median = statistics.median(cpu[name])
        label = "whole stack again (the noise)" if name == "again" else name
        if name in stack:
            label = "without " + name.rsplit(".", 1)[1]
        print(f"{label:60} {median:6.3f}  saves {whole - median:+6.3f} "
              f"({(whole - median) / whole:+6.1%})  statuses {sorted(statuses[name])}")  # fmt: skip


# The service's own middleware beside the library's it replaces or wraps: a variant of the stack with the library's
# in its place shows what ours saves (a negative "saves": ours costs more).
STOCK_MIDDLEWARE: dict[str, dict[str, list[str]]] = {
    "with django-csp's own CSPMiddleware": {
        "apps.core.http.middleware.PrebuiltPolicyCSPMiddleware": ["csp.middleware.CSPMiddleware"],
    },
    "with Django's session, auth and messages middleware, ungated": {
        "apps.core.http.browser.BrowserSessionMiddleware": ["django.contrib.sessions.middleware.SessionMiddleware"],
        "apps.core.http.browser.BrowserAuthenticationMiddleware": [
            "django.contrib.auth.middleware.AuthenticationMiddleware"
        ],
        "apps.core.http.browser.BrowserMessageMiddleware": ["django.contrib.messages.middleware.MessageMiddleware"],
    },
}


def _service_requests() -> tuple[Any, dict[str, tuple[str, str, dict[str, str], bytes]]]:
    """The heaviest account's owner and each case's request (method, path, headers, body), from the bench data."""
    from django.db.models import Count
    from rest_framework_simplejwt.tokens import RefreshToken

    from apps.messages.models import Message
    from apps.products.models import Product
    from apps.users.models import User

    heavy = Message.objects.values("account_id").annotate(n=Count("id")).order_by("-n").first()
    if heavy is None:
        raise SystemExit("no messages to profile: run `manage.py seed_demo` first")
    owner = User.objects.get(account_id=heavy["account_id"])
    token = str(RefreshToken.for_user(owner).access_token)
    auth = {"Authorization": f"Bearer {token}"}
    sender = Message.objects.filter(account_id=owner.account_id).values_list("sender_number", flat=True).first() or ""
    product_id = Product.objects.order_by("-created_at").values_list("id", flat=True).first()
    message_body = json.dumps({"sender_number": "+15551230001", "receiver_number": "+15551230002", "body": "bench"})
    login_body = json.dumps({"email": "bench-login@example.com", "password": "wrong-password-for-the-bench"})
    requests = {
        "health_live": ("GET", "/health/live/", {}, b""),
        "catalog_cached": ("GET", "/api/v1/products/?page=1", auth, b""),
        "catalog_uncached": ("GET", "/api/v1/products/?min_price=1&max_price={n}&ordering=-price&is_available=true",
                             auth, b""),
        "product_detail": ("GET", f"/api/v1/products/{product_id}/", auth, b""),
        "message_create": ("POST", "/api/v1/messages/", {**auth, "Content-Type": "application/json"},
                           message_body.encode()),
        "message_search": ("GET", f"/api/v1/messages/search/?sender_number={sender.replace('+', '%2B')}", auth, b""),
        "account_page_1": ("GET", f"/api/v1/accounts/{owner.account_id}/messages/?page=1", auth, b""),
        "account_page_1000": ("GET", f"/api/v1/accounts/{owner.account_id}/messages/?page=1000", auth, b""),
        "login_throttled": ("POST", "/api/v1/auth/login/", {"Content-Type": "application/json"},
                            login_body.encode()),
    }  # fmt: skip
    return owner, requests


def _instructions_per_request(case: str, requests: int, database: str, *options: str) -> float:
    """The case's instructions per request in a process of its own under callgrind (`options` go to that process)."""
    import shutil
    import subprocess

    valgrind = shutil.which("valgrind")
    if valgrind is None:
        raise SystemExit("--instructions needs valgrind (Debian's package valgrind)")
    counts = []
    for n in (requests, 3 * requests):
        command = [valgrind, "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable, "-m",
                   "bench.profile", case, "--plain", "--requests", str(n), "--database", database,
                   *options]  # fmt: skip
        done = subprocess.run(command, capture_output=True, text=True, check=True)  # noqa: S603 - our own argv
        counts.append(int(done.stderr.rsplit("refs:", 1)[1].split()[0].replace(",", "")))
    return (counts[1] - counts[0]) / (2 * requests)


def _middleware_instructions(case: str, requests: int, database: str) -> int:
    """As `_middleware_costs`, in instructions per request: each stack counted once (callgrind's counts repeat, so
    no rounds), as many at a time as the machine has cores."""
    from concurrent.futures import ThreadPoolExecutor

    _use_project_env(case, database)
    from django.conf import settings

    stack = list(settings.MIDDLEWARE)
    variants = ["", *stack]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(
            pool.map(lambda dropped: _instructions_per_request(case, requests, database,
                                                               *(["--without", dropped] if dropped else [])),
                     variants)
        )  # fmt: skip
    whole = counts[0]
    print(f"{case}: instructions per request (callgrind), the whole stack and without each middleware")
    print(f"{'whole stack':60} {whole:12,.0f}")
    for name, count in zip(stack, counts[1:], strict=True):
        print(f"{'without ' + name.rsplit('.', 1)[1]:60} {count:12,.0f}  saves {whole - count:+10,.0f} "
              f"({(whole - count) / whole:+6.1%})")  # fmt: skip
    return 0


def _delivery_runner(owner: Any) -> Any:
    from apps.messages.delivery.services import message_deliver
    from apps.messages.models import Message

    pks: list[int] = []

    def run(n: int) -> None:
        if not pks:
            created = Message.objects.bulk_create(
                [Message(account_id=owner.account_id, sender_number="+15550000001", receiver_number="+15550000002",
                         body=f"profile {i}") for i in range(200)]
            )  # fmt: skip
            pks.extend(m.pk for m in created)
        message_deliver(message_pk=pks.pop())

    return run


if __name__ == "__main__":
    sys.exit(main())
