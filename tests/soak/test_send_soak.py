"""The Fortnox send fault campaign (issue #14): 200 orders sent by two real RQ workers
(`flask worker` subprocesses) while the sandbox times out after the create, answers 5xx, bursts
429s and drops connections, and one worker is SIGKILLed in the middle of a create and
restarted. `flask fortnox sweep` runs all along, so abandoned sends resume.

It ends with exactly one Fortnox document per order (by ExternalInvoiceReference1), each
carrying what the order's preview sends, and no order left "queued" or "sending".

`make soak` runs it (CI: after `make test`). It needs PostgreSQL and Redis: the server of
``SOAK_DATABASE_URL`` or ``TEST_DATABASE_URL`` (default postgres@127.0.0.1:5432), where it
creates and drops a database of its own, and the Redis of ``REDIS_URL`` (default
127.0.0.1:6379), where it takes an empty database number and empties it afterwards.
Knobs: ``SOAK_ORDERS`` (200), ``SOAK_LEASE_SECONDS``, ``SOAK_DEADLINE_SECONDS`` (480),
``SOAK_FAULTS=0`` (no fault waves), ``SOAK_LOG_DIR`` (worker logs; default a temporary one).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app import create_app
from app.config import DevConfig
from app.extensions import db
from app.integrations.fortnox import sending, services
from app.integrations.models import FortnoxSend
from app.orders.models import FortnoxState, Order, OrderStatus
from fortnox_sandbox.testing import SandboxServer, serve
from tests import factories, send_campaign
from tests.fortnox_world import connect_to_sandbox
from tests.send_campaign import FLASK, postgres_database, work_orders, worker_config

pytestmark = [
    pytest.mark.soak,
    pytest.mark.skipif(
        not os.environ.get("ORDNA_SOAK"), reason="the fault campaign runs with `make soak`"
    ),
]

WORKER_APP = "wsgi.py"  # the production entry point; it reads FORTNOX_SEND_LEASE_SECONDS

ORDERS = int(os.environ.get("SOAK_ORDERS", "200"))
# How long a claimed send is held before another worker may take it over (sending.py). It
# must outlast the slowest attempt: sending.py does not renew the lease while a Fortnox call is
# in flight, so a shorter lease lets a second worker take over a live send (here: one create
# sleeps through the client's 30 s timeout, another waits out 429s) and make a second document.
LEASE_SECONDS = int(os.environ.get("SOAK_LEASE_SECONDS", "150"))  # the floor: job timeout + 30
DEADLINE_SECONDS = float(os.environ.get("SOAK_DEADLINE_SECONDS", "480"))
SWEEP_EVERY = 15.0  # seconds between `flask fortnox sweep` runs
CUSTOMERS = 8
ARTICLES = 12
# Longer than the client's 30 s read timeout (client.DEFAULT_TIMEOUT): the create times out
# and the sandbox creates the document afterwards, a "timeout after the create".
TIMEOUT_LATENCY_MS = 33_000

# Fault waves: (the share of orders sent when the wave is added, faults) — each fault: (kind,
# options). The sandbox takes the first matching fault, so a wave's 429 burst comes first.
WAVE = [
    ("rate_limit", {"path_pattern": "/3/*", "count": 8}),
    ("status", {"method": "POST", "path_pattern": "/3/orders", "status": 503, "count": 2}),
    ("drop_after_create", {"method": "POST", "path_pattern": "/3/orders", "count": 2}),
    (
        "latency",
        {"method": "POST", "path_pattern": "/3/orders", "latency_ms": TIMEOUT_LATENCY_MS},
    ),
    ("status", {"method": "GET", "path_pattern": "/3/orders", "status": 500, "count": 2}),
    ("drop_after_create", {"method": "GET", "path_pattern": "/3/orders", "count": 1}),
]
FIRST_WAVE_EXTRA = [
    ("drop_after_create", {"method": "POST", "path_pattern": "/3/customers", "count": 1}),
    ("status", {"method": "POST", "path_pattern": "/3/articles", "status": 502, "count": 1}),
    ("status", {"method": "GET", "path_pattern": "/3/customers/*", "status": 503, "count": 1}),
    ("drop_after_create", {"method": "POST", "path_pattern": "/3/articles", "count": 1}),
]
WAVES = [(0.0, WAVE + FIRST_WAVE_EXTRA), (0.25, WAVE), (0.5, WAVE), (0.75, WAVE)]
if os.environ.get("SOAK_FAULTS", "1") == "0":  # a baseline: only the killed worker
    WAVES = [(0.0, [])]
KILL_AT = 0.15  # the share of orders sent when worker 1 is SIGKILLed in a create
KILL_LATENCY_MS = 6_000  # both workers asleep in a create when the kill comes
RESTART_AFTER = 3.0


def say(message: str) -> None:
    print(f"[soak] {message}", flush=True)


# --- PostgreSQL, Redis, the sandbox -----------------------------------------------------------


def _server_url() -> Any:
    url = os.environ.get("SOAK_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
    url = url or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        pytest.fail(f"the soak needs PostgreSQL, not {parsed.drivername}", pytrace=False)
    return parsed.set(database="postgres")


@pytest.fixture
def database_url() -> Iterator[str]:
    """A PostgreSQL database of the campaign's own, dropped afterwards."""
    server = _server_url()
    with ExitStack() as stack:
        try:
            url = stack.enter_context(postgres_database(server, f"ordna_soak_{os.getpid()}"))
        except Exception as exc:
            pytest.fail(f"PostgreSQL at {server} cannot be used: {exc}", pytrace=False)
        yield url


@pytest.fixture
def redis_url() -> Iterator[str]:
    """An empty Redis database number of the campaign's own, emptied afterwards."""
    from redis import Redis

    parsed = urlsplit(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 6379
    try:
        probe = Redis(host=host, port=port)
        probe.ping()
    except Exception as exc:
        pytest.fail(f"Redis at {host}:{port} cannot be used: {exc}", pytrace=False)
    for number in range(15, 7, -1):
        connection = Redis(host=host, port=port, db=number)
        if connection.dbsize() == 0:
            break
    else:
        pytest.fail("no empty Redis database among 8–15 for the soak", pytrace=False)
    try:
        yield f"redis://{host}:{port}/{number}"
    finally:
        connection.flushdb()
        connection.close()
        probe.close()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with serve(SANDBOX_LOG_SIZE=200_000) as server:
        yield server


# --- processes --------------------------------------------------------------------------------


class Processes(send_campaign.Processes):
    """The campaign's subprocesses (tests/send_campaign.py); one that fails fails the test."""

    def failed(self, message: str) -> NoReturn:
        pytest.fail(message, pytrace=False)


# --- the data ---------------------------------------------------------------------------------


def soak_config(database_url: str, redis_url: str, sandbox: SandboxServer, secret: str) -> type:
    extra = {"DEBUG": False, "FORTNOX_SEND_LEASE_SECONDS": LEASE_SECONDS}
    return worker_config(DevConfig, database_url, redis_url, sandbox, secret, **extra)


def connect(sandbox: SandboxServer, tenant: int) -> None:
    """The organisation-wide integration, connected to the sandbox tenant with real tokens."""
    connect_to_sandbox(sandbox, tenant)


def make_orders(count: int) -> tuple[Any, list[int]]:
    """``count`` ready orders over a few customers and articles; the office user and the ids."""
    from app.auth.services import create_user

    office = create_user(email="office@soak.test", name="Olle Kontor", password="x" * 12,
                         role="office")  # fmt: skip
    tech = create_user(email="tech@soak.test", name="Tove Tekniker", password="x" * 12,
                       role="technician")  # fmt: skip
    db.session.commit()
    customers = []
    for n in range(CUSTOMERS):
        number = str(8001 + n)
        customer = factories.customer(
            customer_number=number, name=f"Verkstad {number} AB", email=f"f{number}@soak.test"
        )
        facility = factories.facility(customer, name=f"Lagret {n}", address1=f"Hamngatan {n}")
        customers.append((customer, facility))
    articles = [f"S{100 + n}" for n in range(ARTICLES)]
    for n, number in enumerate(articles):
        factories.article(number, name=f"Reservdel {n}", price=Decimal(100 + 25 * n))
    ids = []
    for order in work_orders(count, customers, articles, by=tech):
        order.status = OrderStatus.READY
        ids.append(order.id)
    db.session.commit()
    return office, ids


# --- comparing a Fortnox document with the preview ----------------------------------------------


def _same(sent: Any, stored: Any) -> bool:
    if isinstance(sent, bool) or isinstance(stored, bool):
        return sent == stored
    try:
        return Decimal(str(sent)) == Decimal(str(stored))
    except (InvalidOperation, ValueError):
        return str(sent) == str(stored)


def differences(document: dict[str, Any], stored: dict[str, Any], rows_key: str) -> list[str]:
    """What of the fields we send (``document``) Fortnox does not have (``stored``)."""
    found = []
    for key, value in document.items():
        if key == rows_key:
            continue
        if not _same(value, stored.get(key)):
            found.append(f"{key}: sent {value!r}, Fortnox has {stored.get(key)!r}")
    sent_rows, stored_rows = document.get(rows_key, []), stored.get(rows_key, [])
    if len(sent_rows) != len(stored_rows):
        found.append(f"{rows_key}: sent {len(sent_rows)} rows, Fortnox has {len(stored_rows)}")
        return found
    for i, (sent_row, stored_row) in enumerate(zip(sent_rows, stored_rows, strict=True)):
        for key, value in sent_row.items():
            if not _same(value, stored_row.get(key)):
                found.append(f"row {i} {key}: sent {value!r}, Fortnox has {stored_row.get(key)!r}")
    return found


def all_documents(sandbox: SandboxServer, tenant: int) -> list[dict[str, Any]]:
    documents: list[dict[str, Any]] = []
    for page in range(1, 21):
        response = sandbox.accountant("GET", f"tenants/{tenant}/api/orders?limit=500&page={page}")
        assert response.status_code == 200, response.text
        body = response.json()
        documents.extend(body["Orders"])
        if page >= int(body["MetaInformation"]["@TotalPages"]):
            break
    return documents


# --- the campaign -------------------------------------------------------------------------------


@dataclass
class Stats:
    faults_added: Counter = field(default_factory=Counter)
    sweeps: int = 0
    swept: int = 0
    killed_send: int | None = None
    kill_note: str = ""


def add_wave(
    sandbox: SandboxServer, faults: list[tuple[str, dict[str, Any]]], stats: Stats
) -> None:
    for kind, options in faults:
        sandbox.add_fault(kind, **options)
        stats.faults_added[kind] += options.get("count", 1)


def rq_worker_of(redis_url: str, pid: int) -> Any:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(redis_url)
    for worker in Worker.all(connection=connection):
        if worker.pid == pid:
            return worker
    return None


class Killer:
    """Holds both workers in a create (a latency fault taken twice) and then SIGKILLs worker 1
    while the sandbox goes on to create its document: nobody records it, and once the lease
    has run out a sweep re-enqueues the send and its next attempt must adopt that document."""

    def __init__(self, sandbox: SandboxServer, redis_url: str, stats: Stats) -> None:
        self.sandbox, self.redis_url, self.stats = sandbox, redis_url, stats
        self.fault: str | None = None
        self.armed_at = 0.0
        self.killed_at: float | None = None

    def arm(self) -> None:
        self.fault = self.sandbox.add_fault(
            "latency", method="POST", path_pattern="/3/orders", latency_ms=KILL_LATENCY_MS, count=2
        )["fault"]
        self.stats.faults_added["latency"] += 2
        self.armed_at = time.monotonic()

    def ready(self) -> bool:
        """Both workers are asleep in a create (or it has waited long enough)."""
        if any(f["id"] == self.fault for f in self.sandbox.control("GET", "faults")["faults"]):
            if time.monotonic() - self.armed_at < 60:
                return False
            self.stats.kill_note = "the kill latency was not taken twice within 60 s"
        return True

    def kill(self, worker: subprocess.Popen) -> None:
        from redis import Redis
        from rq.job import Job

        rq_worker = rq_worker_of(self.redis_url, worker.pid)
        job_id = rq_worker.get_current_job_id() if rq_worker else None
        if job_id:
            job = Job.fetch(job_id, connection=Redis.from_url(self.redis_url))
            self.stats.killed_send = int(job.args[1]) if len(job.args) > 1 else None
        Processes.kill(worker)
        self.killed_at = time.monotonic()
        say(f"SIGKILLed worker 1 (pid {worker.pid}) in send {self.stats.killed_send}")


def write_evidence(app: Any, sandbox: SandboxServer, logs: Path) -> None:
    """On failure: the sandbox's request log and the sends, as JSON beside the worker logs."""
    try:
        log = sandbox.requests_log()
        (logs / "sandbox-requests.json").write_text(json.dumps(log, indent=1, default=str))
        with app.app_context():
            rows = [
                {
                    "send": send.id,
                    "order": send.order.display_number,
                    "reference": send.order.fortnox_reference,
                    "status": send.status,
                    "step": send.step,
                    "attempts": send.attempts,
                    "document": send.document_number,
                    "lease_until": send.lease_until,
                    "next_attempt_at": send.next_attempt_at,
                    "error": send.error_message,
                }
                for send in db.session.scalars(select(FortnoxSend).order_by(FortnoxSend.id))
            ]
            db.session.remove()
        (logs / "sends.json").write_text(json.dumps(rows, indent=1, default=str))
        say(f"evidence written to {logs}: sandbox-requests.json, sends.json, worker logs")
    except Exception as exc:  # the failure itself matters more
        say(f"could not write the evidence: {exc}")


@pytest.mark.timeout(900)
def test_two_workers_send_200_orders_exactly_once_through_faults_and_a_killed_worker(
    database_url: str, redis_url: str, sandbox: SandboxServer, tmp_path: Path
) -> None:
    started = time.monotonic()
    secret = secrets.token_hex(16)
    logs = Path(os.environ.get("SOAK_LOG_DIR") or tmp_path)
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("TEST_DATABASE_URL", "FLASK_DEBUG")},
        "FLASK_APP": WORKER_APP,
        "ORDNA_ENV": "development",
        "SECRET_KEY": secret,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "JOBS_INLINE": "0",
        "FORTNOX_API_URL": sandbox.api_url,
        "FORTNOX_OAUTH_URL": sandbox.oauth_url,
        "FORTNOX_SEND_LEASE_SECONDS": str(LEASE_SECONDS),
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(env, logs)
    stats = Stats()
    app = create_app(soak_config(database_url, redis_url, sandbox, secret))
    try:
        processes.run("migrate", FLASK, "db", "upgrade", timeout=300)
        tenant = sandbox.create_tenant("Kylteknik i Väst AB", "556123-4567", seed=False)
        with app.app_context():
            connect(sandbox, tenant)
            office, order_ids = make_orders(ORDERS)
            db.session.remove()
        say(f"{ORDERS} ready orders in {time.monotonic() - started:.0f} s; starting two workers")

        workers = [processes.flask(f"worker-{n}", "worker") for n in (1, 2)]
        deadline = time.monotonic() + 90
        while len([w for w in workers if rq_worker_of(redis_url, w.pid)]) < 2:
            for n, worker in enumerate(workers, 1):
                if worker.poll() is not None:
                    pytest.fail(f"worker {n} ended:\n{processes.tail(f'worker-{n}')}")
            assert time.monotonic() < deadline, "the workers did not start within 90 s"
            time.sleep(0.5)

        with app.app_context():
            office = db.session.merge(office)
            orders = db.session.scalars(select(Order).where(Order.id.in_(order_ids))).all()
            add_wave(sandbox, WAVES[0][1], stats)
            sends, refused = sending.send_orders(orders, by=office)
            assert not refused and len(sends) == ORDERS, refused
            db.session.remove()
        queued_at = time.monotonic()
        say(f"{ORDERS} sends queued; faults, the kill and the sweeper begin")

        waves = list(WAVES[1:])
        killer = Killer(sandbox, redis_url, stats)
        restarted = False
        sweeper: subprocess.Popen | None = None
        last_sweep = last_report = time.monotonic()
        open_states = (FortnoxState.QUEUED, FortnoxState.SENDING)
        run_deadline = queued_at + DEADLINE_SECONDS
        while True:
            elapsed = time.monotonic() - queued_at
            with app.app_context():
                states = Counter(
                    dict(
                        db.session.execute(
                            select(Order.fortnox_state, func.count()).group_by(Order.fortnox_state)
                        ).all()
                    )
                )
                db.session.remove()
            sent = states[FortnoxState.SENT]
            if waves and sent >= waves[0][0] * ORDERS:
                add_wave(sandbox, waves.pop(0)[1], stats)
                say(f"t={elapsed:.0f}s: fault wave ({sent} sent)")
            if killer.fault is None and sent >= KILL_AT * ORDERS:
                killer.arm()
            elif killer.fault and killer.killed_at is None and killer.ready():
                killer.kill(workers[0])
            if (
                killer.killed_at is not None
                and not restarted
                and time.monotonic() - killer.killed_at >= RESTART_AFTER
            ):
                workers[0] = processes.flask("worker-1-restarted", "worker")
                restarted = True
                say(f"t={time.monotonic() - queued_at:.0f}s: worker 1 restarted")
            for n, worker in enumerate(workers, 1):
                if worker.poll() is not None and (n != 1 or killer.killed_at is None or restarted):
                    name = f"worker-{n}" if n != 1 else "worker-1-restarted"
                    pytest.fail(f"worker {n} ended by itself:\n{processes.tail(name)}")
            if sweeper is not None and sweeper.poll() is not None:
                output = processes.tail("sweep", 1)
                stats.sweeps += 1
                if output.startswith("Enqueued "):
                    stats.swept += int(output.split()[1])
                sweeper = None
            if sweeper is not None and time.monotonic() - last_sweep > 120:
                Processes.kill(sweeper)  # hung: the next round starts a new one
                sweeper = None
            if sweeper is None and time.monotonic() - last_sweep >= SWEEP_EVERY:
                sweeper = processes.flask("sweep", "fortnox", "sweep")
                last_sweep = time.monotonic()
            if time.monotonic() - last_report >= 15:
                last_report = time.monotonic()
                say(f"t={elapsed:.0f}s: " + ", ".join(f"{k}={v}" for k, v in states.items()))
            if not waves and restarted and not any(states[s] for s in open_states):
                break
            if time.monotonic() > run_deadline:
                pytest.fail(
                    f"orders still open after {DEADLINE_SECONDS:.0f} s: {dict(states)}\n"
                    f"worker 2:\n{processes.tail('worker-2')}",
                    pytrace=False,
                )
            time.sleep(0.5)
        sent_after = time.monotonic() - queued_at

        # A create still asleep in a latency fault would make its document later: wait until
        # every latency fault the sandbox took has been answered.
        deadline = time.monotonic() + TIMEOUT_LATENCY_MS / 1000 + 15
        while time.monotonic() < deadline:
            taken = stats.faults_added["latency"] - sum(
                (f["count"] or 0)
                for f in sandbox.control("GET", "faults")["faults"]
                if f["kind"] == "latency"
            )
            answered = len([e for e in sandbox.requests_log() if e["fault"] == "latency"])
            if answered >= taken:
                break
            time.sleep(1)
        left = sandbox.control("GET", "faults")["faults"]
        sandbox.clear_faults()
        log = sandbox.requests_log()

        # --- the outcome ----------------------------------------------------------------------
        documents = all_documents(sandbox, tenant)
        by_reference: dict[str, list[dict[str, Any]]] = {}
        for document in documents:
            by_reference.setdefault(document.get("ExternalInvoiceReference1") or "", []).append(
                document
            )
        problems: list[str] = []
        with app.app_context():
            orders = db.session.scalars(select(Order).where(Order.id.in_(order_ids))).all()
            sends = db.session.scalars(select(FortnoxSend)).all()
            attempts = Counter(s.attempts for s in sends)
            retries = sum(max(0, s.attempts - 1) for s in sends)
            references = {o.fortnox_reference for o in orders}
            for order in orders:
                mine = by_reference.get(order.fortnox_reference, [])
                if order.fortnox_state != FortnoxState.SENT:
                    problems.append(
                        f"{order.display_number}: state {order.fortnox_state} "
                        f"({order.fortnox_last_error})"
                    )
                if len(mine) != 1:
                    numbers = [d["DocumentNumber"] for d in mine]
                    problems.append(f"{order.display_number}: {len(mine)} documents {numbers}")
                    continue
                number = str(mine[0]["DocumentNumber"])
                if order.fortnox_document_number != number:
                    problems.append(
                        f"{order.display_number}: linked to {order.fortnox_document_number}, "
                        f"Fortnox has {number}"
                    )
                stored = sandbox.accountant("GET", f"tenants/{tenant}/api/orders/{number}")
                assert stored.status_code == 200, stored.text
                preview = services.preview(order)
                for difference in differences(preview.document, stored.json()["Order"],
                                              "OrderRows"):  # fmt: skip
                    problems.append(f"{order.display_number} (Fortnox {number}): {difference}")
            strangers = [d["DocumentNumber"] for d in documents
                         if d.get("ExternalInvoiceReference1") not in references]  # fmt: skip
            if strangers:
                problems.append(f"documents of no order: {strangers}")
            killed_send = db.session.get(FortnoxSend, stats.killed_send or 0)
            killed = "none"
            if killed_send is not None:
                ref = killed_send.order.fortnox_reference
                writes = Counter(
                    e["method"]
                    for e in log
                    if e["method"] in ("POST", "PUT")
                    and e["path"].startswith("/3/orders")
                    and e["status"] in (200, 201)
                    and ref in json.dumps(e["body"])
                )
                killed = (
                    f"send {killed_send.id}: {killed_send.status} after {killed_send.attempts} "
                    f"attempts; its document created {writes['POST']}x, updated "
                    f"{writes['PUT']}x"
                ) + (" (adopted)" if writes["POST"] == 1 and writes["PUT"] else "")

            db.session.remove()

        longest = max(
            (
                int(h) * 3600 + int(m) * 60 + float(sec)
                for path in logs.glob("worker-*.log")
                for h, m, sec in re.findall(r"job in (\d+):(\d+):([\d.]+)s", path.read_text())
            ),
            default=0.0,
        )
        faults_taken = Counter(e["fault"] for e in log if e["fault"])
        statuses = Counter(e["status"] for e in log)
        say("summary")
        print(
            f"  orders: {ORDERS}, all out of queued/sending after {sent_after:.0f} s\n"
            f"  Fortnox documents: {len(documents)} "
            f"({len(by_reference)} distinct references)\n"
            f"  faults injected: {dict(stats.faults_added)}; taken: {dict(faults_taken)}; "
            f"left untaken: {len(left)}\n"
            f"  Fortnox answers: {dict(sorted(statuses.items()))}, "
            f"dropped: {sum(1 for e in log if e['dropped'])}\n"
            f"  send attempts: {dict(sorted(attempts.items()))} (retries {retries})\n"
            f"  worker SIGKILLed mid-create and restarted: {killed}"
            + (f" — {stats.kill_note}" if stats.kill_note else "")
            + f"\n  sweeper runs: {stats.sweeps}, sends re-enqueued: {stats.swept}\n"
            f"  longest job: {longest:.0f} s; lease: {LEASE_SECONDS} s; "
            f"duration: {time.monotonic() - started:.0f} s; logs: {logs}",
            flush=True,
        )
        assert not problems, "\n".join(problems[:50])
        assert len(documents) == ORDERS
    except BaseException:
        write_evidence(app, sandbox, logs)
        raise
    finally:
        processes.stop()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
