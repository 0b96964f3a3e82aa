"""The fleet test: one topology (tests/fleet/topology.py) brought up once for the module, then each check in the
order of this file, each a test of its own so one failure hides none of the others. `make fleet` runs it with
`-s`; the figures table is printed at the end of the run (tests/fleet/conftest.py), with or without `-s`.

Order matters in two places: the worker metrics are read before any worker is restarted (a restart zeroes its
counters), and the sign-in checks run last (their failed passwords lock out their client address for a minute).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from functools import partial
from typing import Any
from urllib.parse import urlparse

import pytest
import urllib3

from bench.slowclients import probe_under_drip
from tests.conftest import IN_CI, delete_broker_names
from tests.fleet.topology import (
    FIGURES,
    INSTANCE_HOSTS,
    PASSWORD,
    PROXY_HOST,
    WORKER_NAMES,
    Answer,
    Fleet,
    binary,
)
from tests.helpers.receiver import receiver

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.broker,
    pytest.mark.worker,
]

LOGIN_LIMIT = 10  # THROTTLE_RATE_LOGIN in the fleet's environment
USER_LIMIT = 600  # THROTTLE_RATE_USER
POOL = 16  # concurrent HTTP clients of a check


def figure(name: str, value: object) -> None:
    FIGURES.append((name, str(value)))
    print(f"[fleet] {name}: {value}", flush=True)


def server_url(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.scheme}://{parsed.netloc}"


@pytest.fixture(scope="module")
def fleet() -> Iterator[Fleet]:
    for name in ("haproxy", "pgbouncer"):
        if binary(name) is None:
            message = f"{name} is not installed (apt-get install {name})"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(message)
    topology = Fleet(
        database_server=server_url(os.environ["DATABASE_URL"]),
        redis_url=os.environ["REDIS_URL"],
        broker_url=os.environ["CELERY_BROKER_URL"],
        database=os.environ.get("FLEET_DATABASE", "drm_fleet"),
    )
    started = time.monotonic()
    try:
        topology.create_database()
        topology.start_pgbouncer()
        topology.start_gateway()
        topology.migrate_three_at_once()
        if any(code != 0 for code, _ in topology.migrations):
            topology.ensure_schema()
        admin_email = f"admin-{topology.run_id}@example.com"
        created = topology.manage(
            "createsuperuser", "--noinput", DJANGO_SUPERUSER_EMAIL=admin_email, DJANGO_SUPERUSER_PASSWORD=PASSWORD
        )
        assert created.returncode == 0, created.stderr[-2000:]
        for index in range(len(INSTANCE_HOSTS)):
            topology.start_instance(index)
        for name in WORKER_NAMES:
            topology.start_worker(name)
        topology.start_beat("beat1")
        topology.start_beat("beat2")
        for index in range(len(INSTANCE_HOSTS)):
            topology.wait_instance(index)
        for name in WORKER_NAMES:
            topology.wait_worker(name)
        topology.start_haproxy()
        wait_proxy_serves_all(topology)
        topology.admin_token = topology.sign_in(admin_email)  # type: ignore[attr-defined]
        figure("topology up (s)", f"{time.monotonic() - started:.1f}")
        yield topology
    finally:
        topology.stop_all()
        if topology.broker_url.startswith("amqp"):
            delete_broker_names(topology.queue_prefix)
        topology.drop_database()
        figure("whole run (s)", f"{time.monotonic() - started:.1f}")
        if os.environ.get("FLEET_KEEP_LOGS"):
            print(f"[fleet] logs kept in {topology.workdir}")
        else:
            shutil.rmtree(topology.workdir, ignore_errors=True)


@pytest.fixture(autouse=True)
def _timed(request: pytest.FixtureRequest) -> Iterator[None]:
    started = time.monotonic()
    yield
    figure(f"  {request.node.name} (s)", f"{time.monotonic() - started:.1f}")


def wait_proxy_serves_all(fleet: Fleet, timeout: float = 30) -> None:
    """Until HAProxy counts every instance up: three readiness answers in a row through it, round robin."""
    deadline = time.monotonic() + timeout
    streak = 0
    while time.monotonic() < deadline and streak < 6:
        try:
            streak = streak + 1 if fleet.http.request("GET", fleet.url("/health/ready/")).status == 200 else 0
        except urllib3.exceptions.HTTPError:
            streak = 0
        time.sleep(0.5 if streak == 0 else 0.05)
    assert streak >= 6, "HAProxy does not serve the instances"


def admin(fleet: Fleet) -> str:
    token: str = fleet.admin_token  # type: ignore[attr-defined]
    return token


def in_pool(jobs: Sequence[Callable[[], Any]], workers: int = POOL) -> list[Any]:
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda job: job(), jobs))


def status_or_error(call: Callable[[], Answer]) -> int:
    """The answer's status, or 0 for a connection that failed (refused, reset, timed out)."""
    try:
        return call().status
    except urllib3.exceptions.HTTPError:
        return 0


def new_product(fleet: Fleet, price: str = "10.00") -> dict[str, Any]:
    slug = f"fleet-{secrets.token_hex(4)}"
    category = fleet.http.request(
        "POST", fleet.url("/api/v1/categories/"), json_body={"slug": slug, "name": slug}, token=admin(fleet)
    )
    assert category.status == 201, category.body
    product = fleet.http.request(
        "POST",
        fleet.url("/api/v1/products/"),
        json_body={"sku": slug.upper(), "name": slug, "description": "", "category": slug, "price": price, "stock": 5},
        token=admin(fleet),
    )
    assert product.status == 201, product.body
    body: dict[str, Any] = product.body
    return body


# ---- what held, and must keep holding ---------------------------------------------------------------------------


def test_three_migrate_with_lock_at_once_all_succeed(fleet: Fleet) -> None:
    codes = [code for code, _ in fleet.migrations]
    figure("migrate_with_lock x3 exit codes", codes)
    assert codes == [0, 0, 0], "\n---\n".join(log for _, log in fleet.migrations)


def test_cache_coherence_across_instances(fleet: Fleet) -> None:
    product = new_product(fleet)
    _, reader = fleet.new_user("reader")
    path = f"/api/v1/products/{product['id']}/"
    stale = reads = 0
    for change in range(30):
        price = Decimal("11.00") + change
        written = fleet.http.request(
            "PATCH", fleet.url(f"{path}price/", 0), json_body={"price": str(price)}, token=admin(fleet)
        )
        assert written.status == 200, written.body
        for instance in (1, 2, 1, 2):
            read = fleet.http.request("GET", fleet.url(path, instance), token=reader)
            assert read.status == 200, read.body
            reads += 1
            stale += Decimal(read.body["price"]) != price
    figure("cache coherence: stale reads", f"{stale} of {reads} (30 price changes on web0, reads on web1/web2)")
    assert reads == 120
    assert stale == 0


def test_etag_if_match_across_instances(fleet: Fleet) -> None:
    product = new_product(fleet)
    path = f"/api/v1/products/{product['id']}/"
    read = fleet.http.request("GET", fleet.url(path, 0), token=admin(fleet))
    tag = read.headers["etag"]
    first = fleet.http.request(
        "PATCH",
        fleet.url(f"{path}price/", 1),
        json_body={"price": "12.00"},
        token=admin(fleet),
        headers={"If-Match": tag},
    )
    second = fleet.http.request(
        "PATCH",
        fleet.url(f"{path}price/", 2),
        json_body={"price": "13.00"},
        token=admin(fleet),
        headers={"If-Match": tag},
    )
    fresh = fleet.http.request(
        "GET", fleet.url(path, 0), token=admin(fleet), headers={"If-None-Match": first.headers.get("etag", "")}
    )
    figure("ETag across instances", f"first If-Match {first.status}, same tag elsewhere {second.status}, "
           f"new tag read elsewhere {fresh.status}")  # fmt: skip
    assert first.status == 200
    assert second.status == 412
    assert second.body["code"] == "precondition_failed"
    assert fresh.status == 304


def test_idempotency_across_instances(fleet: Fleet) -> None:
    _, token = fleet.new_user("idem")
    keys = [f"fleet-{secrets.token_hex(8)}" for _ in range(30)]
    jobs = [
        partial(fleet.create_message, token, instance=instance, key=key, body=key)
        for key in keys
        for instance in range(len(INSTANCE_HOSTS))
    ]
    answers: list[Answer] = in_pool(jobs)
    ids_per_key: dict[str, set[str]] = {key: set() for key in keys}
    for answer in answers:
        if answer.status == 201:
            ids_per_key[answer.body["body"]].add(answer.body["message_id"])
    listed = fleet.http.request("GET", fleet.url("/api/v1/messages/?page_size=100"), token=token)
    codes = Counter(answer.status for answer in answers)
    figure("idempotency: 30 keys x 3 instances", f"answers {dict(codes)}, messages stored {listed.body['count']}")
    assert listed.body["count"] == 30
    assert all(len(ids) == 1 for ids in ids_per_key.values()), ids_per_key
    assert set(codes) <= {201, 409}


def test_user_rate_limit_is_shared(fleet: Fleet) -> None:
    _, token = fleet.new_user("rate")
    # The limit is a fixed one-minute window: start early in one, so the 900 requests do not straddle two.
    into_window = time.time() % 60
    if into_window > 45:
        time.sleep(60.5 - into_window)
    jobs = [
        partial(status_or_error, partial(fleet.http.request, "GET", fleet.url("/api/v1/users/me/", n % 3), token=token))
        for n in range(900)
    ]
    started = time.monotonic()
    codes = Counter(in_pool(jobs))
    figure(
        "user rate limit (600/min) over 3 instances", f"900 sent: {dict(codes)} in {time.monotonic() - started:.1f} s"
    )
    assert set(codes) <= {200, 429}
    assert codes[200] <= USER_LIMIT
    assert codes[200] >= USER_LIMIT - 30


def test_deactivation_refused_everywhere(fleet: Fleet) -> None:
    _, token = fleet.new_user("gone")
    me = fleet.http.request("GET", fleet.url("/api/v1/users/me/"), token=token).body
    for instance in range(len(INSTANCE_HOSTS)):  # every instance has seen (and may cache) the signed-in user
        for _ in range(2):
            assert fleet.http.request("GET", fleet.url("/api/v1/users/me/", instance), token=token).status == 200
    deleted = fleet.http.request("DELETE", fleet.url(f"/api/v1/users/{me['id']}/", 0), token=admin(fleet))
    assert deleted.status == 204
    done = time.monotonic()
    refused: dict[int, float] = {}
    while len(refused) < len(INSTANCE_HOSTS) and time.monotonic() - done < 5:
        for instance in set(range(len(INSTANCE_HOSTS))) - set(refused):
            if fleet.http.request("GET", fleet.url("/api/v1/users/me/", instance), token=token).status == 401:
                refused[instance] = time.monotonic() - done
    slowest = max(refused.values(), default=float("inf"))
    figure("deactivation refused on all 3 instances after (s)", f"{slowest:.3f}")
    assert len(refused) == len(INSTANCE_HOSTS)
    assert slowest <= 0.1


def test_delivery_exactly_once_with_two_workers(fleet: Fleet) -> None:
    fleet.wait_sent(admin(fleet), list(fleet.messages), timeout=30)
    before = fleet.gateway_stats()
    _, token = fleet.new_user("delivery")
    answers: list[Answer] = in_pool([lambda: fleet.create_message(token) for _ in range(60)], workers=8)
    ids = [answer.body["message_id"] for answer in answers if answer.status == 201]
    took, statuses = fleet.wait_sent(token, ids, timeout=60)
    after = fleet.gateway_stats()
    posts, keys = after["posts"] - before["posts"], after["distinct_keys"] - before["distinct_keys"]
    figure("delivery with 2 workers", f"{len(ids)} accepted, {Counter(statuses.values())} in {took:.1f} s, "
           f"gateway posts {posts}, distinct keys {keys}")  # fmt: skip
    assert len(ids) == 60
    assert Counter(statuses.values()) == {"sent": 60}
    assert posts == keys == 60


def metric_sum(text: str, name: str) -> float | None:
    values = [float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if re.match(rf"{name}(\{{| )", line)]
    return sum(values) if values else None


def test_worker_metrics_count_deliveries(fleet: Fleet) -> None:
    _, statuses = fleet.wait_sent(admin(fleet), list(fleet.messages), timeout=30)
    sent = sum(status not in {"queued", "failed"} for status in statuses.values())
    texts = {}
    for name in WORKER_NAMES:
        try:
            answer = fleet.http.request("GET", fleet.worker_metrics_url(name))
            texts[name] = answer.body if answer.status == 200 and isinstance(answer.body, str) else ""
        except urllib3.exceptions.HTTPError as exc:
            texts[name] = ""
            figure(f"worker {name} metrics", f"no answer: {type(exc).__name__}")
    delivered = {name: metric_sum(text, "messages_delivered_total") for name, text in texts.items()}
    depth = {name: metric_sum(text, "celery_queue_depth") for name, text in texts.items()}
    figure("worker metrics", f"messages_delivered_total {delivered} (sent: {sent}), celery_queue_depth {depth}")
    assert all(value is not None for value in delivered.values())
    assert sum(value or 0 for value in delivered.values()) == sent
    assert any(value is not None for value in depth.values())


def signed_receipt(fleet: Fleet, message_id: str, status: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"reference": message_id, "status": status}).encode()
    timestamp = str(int(time.time()))
    signature = hmac.new(fleet.receipt_secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    headers = {"Content-Type": "application/json", "X-Signature-Timestamp": timestamp, "X-Signature": signature}
    return body, headers


def test_callbacks_once_and_in_order(fleet: Fleet) -> None:
    _, token = fleet.new_user("callbacks")
    with receiver() as hooks:
        configured = fleet.http.request(
            "PATCH",
            fleet.url("/api/v1/accounts/me/status-callback/"),
            json_body={"default_url": hooks.url},
            token=token,
        )
        assert configured.status == 200, configured.body
        ids = [fleet.create_message(token).body["message_id"] for _ in range(10)]
        fleet.wait_sent(token, ids, timeout=30)
        for message_id in ids:
            body, headers = signed_receipt(fleet, message_id, "delivered")
            answer = fleet.http.request(
                "POST", fleet.url("/api/v1/messages/receipts/http/"), body=body, headers=headers
            )
            assert answer.status == 200, answer.body
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(hooks.requests) < 2 * len(ids):
            time.sleep(0.2)
        events = [json.loads(request.body) for request in list(hooks.requests)]
    per_message: dict[str, list[str]] = {message_id: [] for message_id in ids}
    seen: set[str] = set()
    duplicates = 0
    for event in events:
        if event["event_id"] in seen:
            duplicates += 1
            continue
        seen.add(event["event_id"])
        per_message[event["message_id"]].append(event["status"])
    in_order = sum(statuses == ["sent", "delivered"] for statuses in per_message.values())
    figure("callbacks", f"{len(events)} received for 10 messages x 2 changes, {duplicates} repeated, "
           f"{in_order} of 10 in order")  # fmt: skip
    assert duplicates == 0
    assert in_order == len(ids), per_message


def test_worker_sigkill_and_sigterm_lose_nothing(fleet: Fleet) -> None:
    fleet.wait_sent(admin(fleet), list(fleet.messages), timeout=30)
    before = fleet.gateway_stats()
    _, token = fleet.new_user("workers")
    ids: list[str] = []

    def create(count: int) -> None:
        answers = in_pool([lambda: fleet.create_message(token) for _ in range(count)], workers=8)
        ids.extend(answer.body["message_id"] for answer in answers if answer.status == 201)

    create(20)
    fleet.processes["worker-w1"].signal_group(signal.SIGKILL)
    create(20)
    fleet.processes["worker-w1"].wait(10)
    fleet.start_worker("w1")
    create(20)
    fleet.processes["worker-w2"].signal_group(signal.SIGTERM)
    create(20)
    fleet.processes["worker-w2"].wait(30)
    fleet.start_worker("w2")
    for name in WORKER_NAMES:
        fleet.wait_worker(name)
    took, statuses = fleet.wait_sent(token, ids, timeout=90)
    after = fleet.gateway_stats()
    keys = after["distinct_keys"] - before["distinct_keys"]
    lost = sum(status == "queued" for status in statuses.values())
    figure("worker SIGKILL + SIGTERM", f"{len(ids)} accepted, {lost} not sent after {took:.1f} s, gateway distinct "
           f"keys {keys}, posts {after['posts'] - before['posts']}")  # fmt: skip
    assert len(ids) == 80
    assert lost == 0
    assert keys == 80


class Load:
    """Clients in a loop through HAProxy (reads and keyed creates) until stopped; counts every answer."""

    def __init__(self, fleet: Fleet, tokens: list[str], retry_once: bool) -> None:
        self.fleet, self.tokens, self.retry_once = fleet, tokens, retry_once
        self.first: Counter[int] = Counter()  # status of the first attempt (0: no answer)
        self.final: Counter[int] = Counter()  # status after the one retry, when retrying
        self.running = True
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, args=(token,)) for token in tokens]

    def client(self, token: str) -> None:
        n = 0
        while self.running:
            n += 1
            call: Callable[[], Answer]
            if n % 3:
                call = partial(self.fleet.http.request, "GET", self.fleet.url("/api/v1/users/me/"), token=token)
            else:  # keyed: the retry of a create that got no answer cannot make a second message
                call = partial(self.fleet.create_message, token, key=secrets.token_hex(8))
            first = status_or_error(call)
            final = status_or_error(call) if self.retry_once and (first == 0 or first >= 500) else first
            with self.lock:
                self.first[first] += 1
                self.final[final] += 1

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.running = False
        for thread in self.threads:
            thread.join(timeout=40)

    @staticmethod
    def failed(counts: Counter[int]) -> int:
        return sum(count for status, count in counts.items() if status == 0 or status >= 500)


def load_tokens(fleet: Fleet) -> list[str]:
    if not hasattr(fleet, "load_tokens"):
        fleet.load_tokens = [fleet.new_user(f"load{n}")[1] for n in range(6)]  # type: ignore[attr-defined]
    tokens: list[str] = fleet.load_tokens  # type: ignore[attr-defined]
    return tokens


def restart_instance(fleet: Fleet, index: int) -> None:
    """Start the instance again and go on: the next check that needs all three waits for it (all_serving)."""
    fleet.processes[f"web{index}"].stop(timeout=15)
    fleet.start_instance(index)


def all_serving(fleet: Fleet) -> None:
    for index in range(len(INSTANCE_HOSTS)):
        fleet.wait_instance(index)
    wait_proxy_serves_all(fleet)


def test_web_sigkill_through_haproxy(fleet: Fleet) -> None:
    all_serving(fleet)
    with Load(fleet, load_tokens(fleet), retry_once=True) as load:
        time.sleep(2)
        fleet.processes["web1"].signal_group(signal.SIGKILL)
        time.sleep(4)
    figure("web SIGKILL under load via HAProxy", f"first attempts {dict(load.first)}, "
           f"after one retry {dict(load.final)}")  # fmt: skip
    restart_instance(fleet, 1)
    assert sum(load.first.values()) > 50
    assert Load.failed(load.final) == 0


def test_sigterm_instance_drains_with_no_failed_request(fleet: Fleet) -> None:
    all_serving(fleet)
    web = fleet.processes["web2"]
    with Load(fleet, load_tokens(fleet), retry_once=False) as load:
        time.sleep(2)
        os.kill(web.pid, signal.SIGTERM)  # the master alone, as an orchestrator stops it
        signalled = time.monotonic()
        ready = status_or_error(lambda: fleet.http.request("GET", fleet.url("/health/ready/", 2)))
        while ready != 503 and time.monotonic() - signalled < 1:  # the master takes the signal in its own loop
            time.sleep(0.05)
            ready = status_or_error(lambda: fleet.http.request("GET", fleet.url("/health/ready/", 2)))
        ready_after = time.monotonic() - signalled
        time.sleep(6)
    exited = web.wait(20)
    figure("SIGTERM one instance under load", f"its /health/ready/ {ready} after {ready_after:.2f} s, "
           f"answers {dict(load.first)}, exit {exited}")  # fmt: skip
    restart_instance(fleet, 2)
    assert ready == 503
    assert Load.failed(load.first) == 0
    assert sum(load.first.values()) > 50


def test_message_sent_when_its_web_process_dies_after_201(fleet: Fleet) -> None:
    all_serving(fleet)
    _, token = fleet.new_user("orphan")
    answered = threading.Event()

    def create() -> Answer | None:
        try:
            answer = fleet.create_message(token, instance=0)
        except urllib3.exceptions.HTTPError:
            return None  # cut by the kill: never accepted, not counted
        if answer.status == 201:
            answered.set()
        return answer

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(create) for _ in range(4)]
        assert answered.wait(30), "no 201 from web0"
        fleet.processes["web0"].signal_group(signal.SIGKILL)  # at the first 201, as a crashed host would
        answers = [future.result() for future in futures]
    ids = [answer.body["message_id"] for answer in answers if answer is not None and answer.status == 201]
    took, statuses = fleet.wait_sent(token, ids, timeout=15)
    figure("web SIGKILLed right after 201", f"{len(ids)} accepted, {Counter(statuses.values())} after {took:.1f} s")
    restart_instance(fleet, 0)
    assert ids
    assert len(statuses) == len(ids)
    assert all(status != "queued" for status in statuses.values())


def test_slow_request_bodies_hold_no_instance(fleet: Fleet) -> None:
    # Two more drips than the fleet has sync workers: without HAProxy buffering whole requests (option
    # http-buffer-request), each would hold a worker reading its body and the probes behind them would time out.
    all_serving(fleet)
    workers = len(INSTANCE_HOSTS) * 2
    result = probe_under_drip(
        fleet.ports["haproxy"], host=PROXY_HOST, drip_path="/api/v1/auth/login/", headers={},
        probe_path="/health/live/", seconds=8.0, drippers=workers + 2, probe_timeout=5.0,
    )  # fmt: skip
    figure("slow request bodies through HAProxy", result)
    assert result["probes"] >= 10
    assert result["answered"] == result["probes"]


def test_local_media_refused_on_a_fleet(fleet: Fleet) -> None:
    # An instance on its own host would keep uploads on its own disk: production refuses to start that way.
    refused = fleet.manage("check", MEDIA_SINGLE_HOST="")
    figure("production settings, local media, MEDIA_SINGLE_HOST unset", f"exit {refused.returncode}")
    assert refused.returncode != 0
    assert "MEDIA_SINGLE_HOST" in refused.stderr


def test_second_beat_stays_idle(fleet: Fleet) -> None:
    sends = {name: fleet.processes[name].tail(10**7).count("Sending due task") for name in ("beat1", "beat2")}
    alive = fleet.manage("beat_alive", timeout=60)
    figure("two beats: due tasks sent", f"{sends}, beat_alive exit {alive.returncode}")
    assert sorted(sends.values())[0] == 0, "both beats send the schedule: every task runs twice"
    assert sorted(sends.values())[1] > 0
    assert alive.returncode == 0, alive.stderr[-2000:]


def wrong_password(fleet: Fleet, email: str, instance: int | None, source: str, forged: str | None = None) -> int:
    headers = {"X-Forwarded-For": forged} if forged else None
    return fleet.http.request(
        "POST",
        fleet.url("/api/v1/auth/login/", instance),
        json_body={"email": email, "password": "not-the-password"},
        headers=headers,
        source=source,
    ).status


def test_login_limit_holds_across_instances(fleet: Fleet) -> None:
    all_serving(fleet)
    email, _ = fleet.new_user("guessed")
    # The limit counts in fixed one-minute windows (DRF's): a burst across a window's edge counts in two. Start
    # it with 15 s of the window left, as the other login tests stop the clock inside one.
    while time.time() % 60 > 45:
        time.sleep(0.5)
    jobs = [partial(wrong_password, fleet, email, n % 3, "127.0.0.21") for n in range(30)]
    codes = Counter(in_pool(jobs, workers=30))
    figure("30 concurrent wrong passwords on 3 instances", f"{dict(codes)} (limit {LOGIN_LIMIT})")
    assert set(codes) <= {401, 429}
    assert codes[401] <= LOGIN_LIMIT


def test_forged_forwarded_for_is_limited_on_the_real_address(fleet: Fleet) -> None:
    email, _ = fleet.new_user("forged")
    other_email, _ = fleet.new_user("bystander")
    direct = Counter(
        wrong_password(fleet, email, 0, "127.0.0.22", forged=f"10.0.{n}.{n}") for n in range(2 * LOGIN_LIMIT)
    )
    proxied = Counter(
        wrong_password(fleet, other_email, None, "127.0.0.23", forged=f"10.1.{n}.{n}") for n in range(2 * LOGIN_LIMIT)
    )
    # Another client through the same proxy is not the one that was locked out.
    bystander = fleet.http.request(
        "POST",
        fleet.url("/api/v1/auth/login/"),
        json_body={"email": other_email, "password": PASSWORD},
        source="127.0.0.24",
    ).status
    figure("forged X-Forwarded-For", f"direct {dict(direct)}, via HAProxy {dict(proxied)}, "
           f"another client via HAProxy signs in: {bystander}")  # fmt: skip
    assert direct[401] <= LOGIN_LIMIT
    assert proxied[401] <= LOGIN_LIMIT
    assert bystander == 200
