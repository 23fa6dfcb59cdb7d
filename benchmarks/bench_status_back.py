"""What status back costs in Fortnox calls: 10 000 sent orders, 300 of them changed.

Run: ``.venv/bin/python benchmarks/bench_status_back.py`` (``make bench`` runs it). The sandbox
runs in a process of its own with Fortnox's rate limit (as in bench_sync_articles.py); its
tenant gets 10 000 Fortnox orders straight into its state, last changed an hour ago. Here,
10 000 orders are "Skickad" as those documents, and the status-back cursor stands half an
hour ago. Then the accountant turns 300 of the orders into invoices and sends them (through
the sandbox's controls, which Fortnox's call log does not count), and the ``invoice_status``
part runs: it must list only what changed (``lastmodified``), never GET one order at a time.

Prints the calls, the orders made "Fakturerad", the time, and the calls against the issue's
limit (at most 25 for the 300 changed; one per document type when nothing changed) and
against Fortnox's rate-limit floor. Reports only; never asserts.

Knobs: ``BENCH_SENT`` (10 000), ``BENCH_CHANGED`` (300), ``BENCH_SYNC_DATABASE_URL`` (a
PostgreSQL server URL; default a temporary SQLite file).
"""

from __future__ import annotations

import math
import os
import sys
import time
import warnings
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sync_articles import (  # noqa: E402
    FORTNOX_LIMIT,
    FORTNOX_WINDOW,
    database,
    sandbox_server,
    say,
    timed_sync,
)
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.customers.services import create_customer  # noqa: E402
from app.extensions import db  # noqa: E402
from app.integrations.fortnox import sync  # noqa: E402
from app.integrations.models import (  # noqa: E402
    FortnoxSend,
    SendStatus,
    SyncCursor,
    SyncRun,
)
from app.orders.models import FortnoxState, Order, OrderKind, OrderStatus  # noqa: E402
from fortnox_sandbox.testing import SandboxServer  # noqa: E402
from tests.fortnox_world import connect_to_sandbox  # noqa: E402

SENT = int(os.environ.get("BENCH_SENT", "10000"))
CHANGED = int(os.environ.get("BENCH_CHANGED", "300"))
CALL_LIMIT = 25  # issue #15: 300 changed of 10 000 in at most 25 calls


def seed_orders(sandbox: SandboxServer, tenant: int, count: int) -> None:
    """``count`` Fortnox orders 1…count of one customer, last changed an hour ago."""
    from fortnox_sandbox import documents
    from fortnox_sandbox.resources import Ctx, customer_defaults

    state = sandbox.app.extensions["fortnox_sandbox"]
    with state.lock:
        owner = state.tenant(tenant)
        assert owner is not None
        owner.registers.setdefault("customers", {})["1"] = {
            **customer_defaults(),
            "CustomerNumber": "1",
            "Name": "Verkstad i Norr AB",
            "_modified": state.clock.time(),
        }
        ctx = Ctx(state, owner, "POST", "/3/orders", {}, None, sandbox.api_url, accountant=True)
        row = {"ArticleNumber": None, "Description": "Service", "DeliveredQuantity": 1,
               "OrderedQuantity": 1, "Price": 850}  # fmt: skip
        for _ in range(count):
            documents.create(ctx, documents.ORDER, {"CustomerNumber": "1", "OrderRows": [row]})
        an_hour_ago = state.clock.time() - 3600
        for record in owner.orders.values():
            record["_modified"] = an_hour_ago


def sent_orders_here(integration_id: int, count: int) -> None:
    """``count`` orders "Skickad" as Fortnox orders 1…count, each with its send."""
    customer = create_customer({"name": "Verkstad i Norr AB", "customer_number": "1"})
    db.session.flush()
    sent_at = datetime.now(UTC) - timedelta(days=3)
    db.session.execute(
        insert(Order),
        [
            {
                "kind": OrderKind.SERVICE,
                "number": 1000 + n,
                "status": OrderStatus.SENT,
                "customer_id": customer.id,
                "fortnox_state": FortnoxState.SENT,
                "fortnox_document_type": "Order",
                "fortnox_document_number": str(n),
                "fortnox_sent_at": sent_at,
            }
            for n in range(1, count + 1)
        ],
    )
    ids = db.session.scalars(select(Order.id).order_by(Order.id)).all()
    db.session.execute(
        insert(FortnoxSend),
        [
            {
                "order_id": order_id,
                "integration_id": integration_id,
                "status": SendStatus.SUCCEEDED,
                "document_type": "Order",
                "document_number": str(n),
            }
            for n, order_id in enumerate(ids, start=1)
        ],
    )
    db.session.add(
        SyncCursor(
            integration_id=integration_id,
            register="invoice_status",
            lastmodified=sync.lastmodified_text(datetime.now(UTC) - timedelta(minutes=30)),
            records=0,
        )
    )
    db.session.commit()


def report(title: str, done: SyncRun, elapsed: float, calls: list, limit: int) -> None:
    counts = (done.counts or {}).get("invoice_status", {})
    paths = Counter(f"{call['method']} {call['path']}" for call in calls)
    invoiced = db.session.scalar(
        select(func.count()).select_from(Order).where(Order.fortnox_state == FortnoxState.INVOICED)
    )
    floor = FORTNOX_WINDOW * (math.ceil(len(calls) / FORTNOX_LIMIT) - 1)
    say(f"-- {title}: {done.status.value}")
    say("   " + ", ".join(f"{key} {counts.get(key, 0)}" for key in sync.COUNT_KEYS))
    say(f"   Fortnox calls:   {len(calls)} ({', '.join(f'{p} × {n}' for p, n in paths.items())})")
    verdict = "ok" if len(calls) <= limit else "over the limit"
    say(f"   calls ÷ limit:   {len(calls)} ÷ {limit} = {len(calls) / limit:.2f} ({verdict})")
    say(f"   rate-limit floor {floor:.1f} s; elapsed {elapsed:.2f} s")
    say(f"   orders Fakturerad here: {invoiced}")


def main() -> None:
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    with sandbox_server(SENT, seed_orders) as (sandbox, tenant, seeded), database() as url:
        say(
            f"== status back: {SENT} sent orders, {CHANGED} changed in Fortnox ({seeded:.1f} s "
            f"to seed the sandbox); database: {make_url(url).get_backend_name()}"
        )
        config = type(
            "BenchConfig",
            (TestConfig,),
            {
                "SQLALCHEMY_DATABASE_URI": url,
                "FORTNOX_API_URL": sandbox.api_url,
                "FORTNOX_OAUTH_URL": sandbox.oauth_url,
            },
        )
        app = create_app(config)
        with app.app_context():
            upgrade(directory=str(ROOT / "migrations"))
            integration_id = connect_to_sandbox(sandbox, tenant).id
            sent_orders_here(integration_id, SENT)
            step = max(1, SENT // CHANGED)
            for n in range(1, SENT + 1, step)[:CHANGED]:
                made = sandbox.accountant("POST", f"tenants/{tenant}/orders/{n}/invoice")
                invoice = made.json()["Invoice"]["DocumentNumber"]
                sandbox.accountant("POST", f"tenants/{tenant}/invoices/{invoice}/send")
            done, elapsed, calls = timed_sync(sandbox, integration_id, "invoice_status")
            report(f"{CHANGED} changed", done, elapsed, calls, CALL_LIMIT)
            time.sleep(FORTNOX_WINDOW + 0.5)  # let the window pass: the next run's own cost
            done, elapsed, calls = timed_sync(sandbox, integration_id, "invoice_status")
            report("nothing changed since", done, elapsed, calls, 2)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
