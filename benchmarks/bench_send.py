"""How fast 100 orders reach Fortnox against its rate limit (issue #14).

Run: ``.venv/bin/python benchmarks/bench_send.py [--check]`` (``make bench`` runs it). Sets up
what production has: a PostgreSQL database of its own (``ordna_bench``: created, upgraded with
`flask db upgrade`, dropped afterwards), Redis (database 5, which must be empty; emptied
afterwards), two `flask worker` processes and the Fortnox sandbox in a process of its own
(`python -m fortnox_sandbox`, with Fortnox's limit of 25 requests per 5-s sliding window).
The orders' customers and articles already exist in the sandbox tenant and are linked
(``fortnox_links``), so a send is one Fortnox call, the order's create: the look-up by
reference is skipped on the first attempt of a first send.

The workers first send a few orders each (warm, as workers in service are), then rest until
the rate-limit window is empty. Then 100 ready orders are requested for sending
(``request_send``, committed, as "Skicka markerade" does) and enqueued at once
(``enqueue_send``); the clock runs from the first enqueue to the last send's completion.
Prints the orders, Fortnox calls, calls per order, 429 answers (from the sandbox's request
log), the elapsed time, Fortnox's floor for that many calls — 5 s × (⌈calls / 25⌉ − 1): 25
go at once, each further 25 one window later — and the ratio. Targets: ratio ≤ 1.10, no 429,
1.00 calls per order. It reports only, unless ``--check`` is given: then it exits 1 when a
target is missed. It exits 1 whenever the run itself fails (an order not sent). Every process
it starts is ended, and the database and the Redis database are emptied, however it ends.

Knobs: ``BENCH_ORDERS`` (100), ``BENCH_DATABASE_URL`` (a PostgreSQL server, default
postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the database name is replaced),
``BENCH_REDIS_URL`` (redis://127.0.0.1:6379/5).
"""

from __future__ import annotations

import math
import os
import re
import secrets
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from redis import Redis  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from app import create_app  # noqa: E402
from app.articles.services import create_article  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.auth.services import create_user  # noqa: E402
from app.config import Config  # noqa: E402
from app.customers.services import create_customer, create_facility  # noqa: E402
from app.extensions import db  # noqa: E402
from app.integrations.fortnox import sending, services  # noqa: E402
from app.integrations.fortnox.ratelimit import DEFAULT_PERIOD  # noqa: E402
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens  # noqa: E402
from app.integrations.models import FortnoxSend, SendStatus  # noqa: E402
from app.orders.models import Order, OrderStatus  # noqa: E402
from app.orders.services import change_status  # noqa: E402

# Processes and postgres_database are shared with the soak; bench_scale.py and
# bench_sync_articles.py take them from here.
from tests.send_campaign import (  # noqa: E402
    Processes,
    postgres_database,
    work_orders,
    worker_config,
)

ORDERS = int(os.environ.get("BENCH_ORDERS", "100"))
DATABASE = "ordna_bench"
SERVER_URL = os.environ.get("BENCH_DATABASE_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BENCH_REDIS_URL") or "redis://127.0.0.1:6379/5"
BIN = Path(sys.executable).parent
CLIENT_ID, CLIENT_SECRET = "ordna-dev", "ordna-dev-secret"  # the sandbox's registered client
WORKERS = 2
WARM_UP = 3 * WORKERS  # orders at most, sent before the timed run
CUSTOMERS = 8
ARTICLES = 12
FORTNOX_LIMIT, FORTNOX_WINDOW = 25, 5.0  # FACTS.md §2
TARGET_RATIO = 1.10
DEADLINE = 180.0  # seconds for the sends; the run fails after that
NUMBERED = re.compile(r"^(/3/[^/]+)/.*")  # /3/orders/12 → /3/orders/…


def say(message: str) -> None:
    print(message, flush=True)


# --- PostgreSQL, Redis, processes -------------------------------------------------------------


def database() -> AbstractContextManager[str]:
    """This benchmark's database on BENCH_DATABASE_URL's server."""
    return postgres_database(SERVER_URL, DATABASE)


@contextmanager
def redis_database() -> Iterator[str]:
    """The Redis database of ``REDIS_URL``: refused unless empty, emptied afterwards."""
    connection = Redis.from_url(REDIS_URL)
    if connection.dbsize():
        raise SystemExit(f"{REDIS_URL} is not empty; give the benchmark an empty database")
    try:
        yield REDIS_URL
    finally:
        connection.flushdb()
        connection.close()


class Sandbox:
    """The Fortnox sandbox in a process of its own, driven through its control API
    (docs/sandbox.md)."""

    def __init__(self, processes: Processes) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        self.api_url, self.oauth_url = self.base_url + "/3", self.base_url + "/oauth-v1"
        self.http = requests.Session()
        process = processes.start(
            "sandbox", str(BIN / "python"), "-m", "fortnox_sandbox", "--port", str(port)
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                self.http.get(self.base_url + "/_sandbox", timeout=1).raise_for_status()
                break
            except requests.RequestException as exc:
                if process.poll() is not None or time.monotonic() > deadline:
                    log = processes.tail("sandbox")
                    raise SystemExit(f"the sandbox did not start:\n{log}") from exc
                time.sleep(0.1)

    def control(self, verb: str, path: str, body: Any = None, **params: Any) -> Any:
        response = self.http.request(
            verb, f"{self.base_url}/_sandbox/{path}", json=body, params=params, timeout=30
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def create_tenant(self) -> int:
        body = {"CompanyName": "Kylteknik i Väst AB", "OrganizationNumber": "556123-4567",
                "seed": False}  # fmt: skip
        return int(self.control("POST", "tenants", body)["DatabaseNumber"])

    def requests_log(self) -> list[dict[str, Any]]:
        return list(self.control("GET", "requests", limit=100_000)["requests"])


def start_workers(processes: Processes, redis_url: str) -> None:
    from rq import Worker

    started = [
        processes.start(f"worker-{n}", str(BIN / "flask"), "worker") for n in range(1, WORKERS + 1)
    ]
    connection = Redis.from_url(redis_url)
    deadline = time.monotonic() + 90
    while True:
        pids = {p.pid for p in started}
        ready = [w for w in Worker.all(connection=connection) if w.pid in pids]
        if len([w for w in ready if w.get_state() == "idle"]) == WORKERS:
            break
        for n, process in enumerate(started, 1):
            if process.poll() is not None:
                raise SystemExit(f"worker {n} ended:\n{processes.tail(f'worker-{n}')}")
        if time.monotonic() > deadline:
            raise SystemExit("the workers did not start within 90 s")
        time.sleep(0.2)
    connection.close()


# --- the data ---------------------------------------------------------------------------------


def bench_config(database_url: str, redis_url: str, sandbox: Sandbox, secret: str) -> type:
    client = {"FORTNOX_CLIENT_ID": CLIENT_ID, "FORTNOX_CLIENT_SECRET": CLIENT_SECRET}
    return worker_config(Config, database_url, redis_url, sandbox, secret, **client)


def connect(sandbox: Sandbox, tenant: int) -> int:
    """The organisation-wide integration, connected to the sandbox tenant with real tokens."""
    issued = sandbox.control("POST", f"tenants/{tenant}/tokens", {"client_id": CLIENT_ID,
                             "scopes": ["companyinformation", "customer", "article", "order",
                                        "invoice", "settings", "costcenter"]})  # fmt: skip
    integration = services.get_or_create_integration(None)
    tokens = Tokens(
        issued["access_token"],
        issued["refresh_token"],
        datetime.now(UTC) + timedelta(seconds=int(issued["expires_in"])),
        issued["scope"],
    )
    integration.encrypted_tokens = encrypt_tokens(tokens, services.token_key())
    db.session.commit()
    return integration.id


def make_orders(sandbox: Sandbox, tenant: int, integration_id: int, count: int) -> list[int]:
    """`count` ready orders over a few customers and articles, which exist in the Fortnox
    tenant already (entered there by an accountant) and are linked; the order ids."""
    office = create_user(email="office@bench.test", name="Olle Kontor", password="x" * 12,
                         role="office")  # fmt: skip
    tech = create_user(email="tech@bench.test", name="Tove Tekniker", password="x" * 12,
                       role="technician")  # fmt: skip
    customers = []
    for n in range(CUSTOMERS):
        number = str(8001 + n)
        customer = create_customer(
            {
                "customer_number": number,
                "name": f"Verkstad {number} AB",
                "email": f"f{number}@bench.test",
            }  # fmt: skip
        )
        facility = create_facility(
            {"customer_id": customer.id, "name": f"Lagret {n}", "address1": f"Hamngatan {n}"}
        )
        customers.append((customer, facility))
        body = {"Customer": {"CustomerNumber": number, "Name": customer.name}}
        sandbox.control("POST", f"tenants/{tenant}/customers", body)
        sending.link(integration_id, "customer", number)
    articles = [f"S{100 + n}" for n in range(ARTICLES)]
    for n, number in enumerate(articles):
        create_article(
            {"article_number": number, "name": f"Reservdel {n}", "price": Decimal(100 + 25 * n)}
        )
        body = {"Article": {"ArticleNumber": number, "Description": f"Reservdel {n}"}}
        sandbox.control("POST", f"tenants/{tenant}/articles", body)
        sending.link(integration_id, "article", number)
    db.session.commit()
    ids = []
    for order in work_orders(count, customers, articles, by=tech):
        change_status(order, OrderStatus.READY, by=office)
        ids.append(order.id)
    db.session.commit()
    return ids


# --- the run ----------------------------------------------------------------------------------


def send(order_ids: list[int]) -> tuple[list[FortnoxSend], datetime, datetime]:
    """Request the sends of the orders (committed), enqueue them all at once and wait until
    they are done: the sends, when enqueueing began and when it ended."""
    office = db.session.scalar(select(User).where(User.email == "office@bench.test"))
    assert office is not None
    orders = db.session.scalars(select(Order).where(Order.id.in_(order_ids))).all()
    sends = [sending.request_send(order, by=office) for order in orders]
    db.session.commit()
    send_ids = [s.id for s in sends]
    began = datetime.now(UTC)
    for one in sends:
        sending.enqueue_send(one)
    enqueued = datetime.now(UTC)
    deadline = time.monotonic() + DEADLINE
    is_open = FortnoxSend.status.in_([SendStatus.PENDING, SendStatus.SENDING])
    while time.monotonic() < deadline:
        db.session.rollback()
        if not db.session.scalar(select(func.count()).where(FortnoxSend.id.in_(send_ids), is_open)):
            break
        time.sleep(0.05)
    db.session.rollback()
    done = db.session.scalars(select(FortnoxSend).where(FortnoxSend.id.in_(send_ids))).all()
    return list(done), began, enqueued


def warm_up(order_ids: list[int], redis_url: str) -> None:
    """Send a few orders, `WORKERS` at a time, until each worker has sent one: workers in
    service have imported everything and hold database connections. Then rest until the
    rate-limit window is empty, as at the start of a quiet moment."""
    from rq.job import Job

    connection = Redis.from_url(redis_url)
    seen: set[str] = set()
    for i in range(0, len(order_ids), WORKERS):
        sends, _, _ = send(order_ids[i : i + WORKERS])
        for one in sends:
            seen.add(str(Job.fetch(str(one.job_id), connection=connection).worker_name))
        if len(seen) >= WORKERS:
            break
    connection.close()
    time.sleep(DEFAULT_PERIOD + 0.5)


def floor_seconds(calls: int) -> float:
    """Fortnox's least time for `calls` requests: 25 at once, then 25 per further window."""
    return FORTNOX_WINDOW * (math.ceil(calls / FORTNOX_LIMIT) - 1)


def report(sends: list[FortnoxSend], log: list[dict[str, Any]], began: datetime,
           enqueued: datetime) -> list[str]:  # fmt: skip
    """Print the outcome; the targets missed."""
    api = [e for e in log if e["path"].startswith("/3/")]
    calls = len(api)
    kinds = Counter(e["method"] + " " + NUMBERED.sub(r"\1/…", e["path"]) for e in api)
    rejected = sum(1 for e in api if e["status"] == 429)
    last = max(s.finished_at for s in sends if s.finished_at is not None)
    elapsed = (last - began).total_seconds()
    floor = floor_seconds(calls)
    ratio = elapsed / floor if floor else float("nan")
    per_order = calls / ORDERS
    arrivals = sorted((datetime.fromisoformat(e["time"]) - began).total_seconds() for e in api)
    rounds = ", ".join(
        f"{arrivals[i]:.2f}–{arrivals[min(i + FORTNOX_LIMIT, calls) - 1]:.2f}"
        for i in range(0, calls, FORTNOX_LIMIT)
    )
    attempts = dict(sorted(Counter(s.attempts for s in sends).items()))
    say(f"orders           {ORDERS} (sent by {WORKERS} RQ workers; attempts {attempts})")
    say(f"calls            {calls} ({', '.join(f'{k} × {v}' for k, v in kinds.items())})")
    say(f"calls per order  {per_order:.2f}")
    say(f"429s             {rejected}")
    say(f"elapsed          {elapsed:.2f} s (first enqueue → last send done; enqueueing took "
        f"{(enqueued - began).total_seconds():.2f} s)")  # fmt: skip
    say(f"  arrivals       of each 25 calls at Fortnox, s after the first enqueue: {rounds}")
    say(f"floor            {floor:.2f} s (5 s × (⌈{calls} / 25⌉ − 1))")
    say(f"ratio            {ratio:.3f}")
    return [
        what
        for what, bad in (
            (f"ratio {ratio:.3f} > {TARGET_RATIO}", not ratio <= TARGET_RATIO),
            (f"{rejected} × 429", rejected > 0),
            (f"{per_order:.2f} calls per order", calls != ORDERS),
        )
        if bad
    ]


def main() -> int:
    check = "--check" in sys.argv[1:]
    secret = secrets.token_hex(16)
    with (
        tempfile.TemporaryDirectory(prefix="ordna-bench-send-") as logs,
        database() as database_url,
        redis_database() as redis_url,
    ):
        processes = Processes(dict(os.environ), Path(logs))
        app = None
        try:
            sandbox = Sandbox(processes)
            processes.env = {
                **{k: v for k, v in os.environ.items() if k not in ("ORDNA_ENV", "FLASK_DEBUG")},
                "FLASK_APP": "wsgi.py",
                "SECRET_KEY": secret,
                "DATABASE_URL": database_url,
                "REDIS_URL": redis_url,
                "FORTNOX_API_URL": sandbox.api_url,
                "FORTNOX_OAUTH_URL": sandbox.oauth_url,
                "FORTNOX_CLIENT_ID": CLIENT_ID,
                "FORTNOX_CLIENT_SECRET": CLIENT_SECRET,
                "PYTHONUNBUFFERED": "1",
            }
            processes.run("migrate", str(BIN / "flask"), "db", "upgrade")
            app = create_app(bench_config(database_url, redis_url, sandbox, secret))
            tenant = sandbox.create_tenant()
            with app.app_context():
                integration_id = connect(sandbox, tenant)
                order_ids = make_orders(sandbox, tenant, integration_id, ORDERS + WARM_UP)
                db.session.remove()
            start_workers(processes, redis_url)
            with app.app_context():
                warm_up(order_ids[ORDERS:], redis_url)
                sandbox.control("DELETE", "requests")
                sends, began, enqueued = send(order_ids[:ORDERS])
                statuses = Counter(s.status for s in sends)
                if statuses.get(SendStatus.SUCCEEDED, 0) != ORDERS:
                    say(f"not every order was sent within {DEADLINE:.0f} s: {dict(statuses)}")
                    for n in range(1, WORKERS + 1):
                        say(f"--- worker {n}\n{processes.tail(f'worker-{n}')}")
                    return 1
                missed = report(sends, sandbox.requests_log(), began, enqueued)
                db.session.remove()
            say("targets          " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
            return 1 if check and missed else 0
        finally:
            processes.stop()
            if app is not None:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
