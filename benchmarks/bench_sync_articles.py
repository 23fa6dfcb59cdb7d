"""How fast a first sync brings 50 000 articles in from Fortnox against its rate limit.

Run: ``.venv/bin/python benchmarks/bench_sync_articles.py`` (``make bench`` runs it). Builds the
schema with `flask db upgrade` in a database of its own — a temporary SQLite file, or, with
``BENCH_SYNC_DATABASE_URL`` set to a PostgreSQL server URL, a database ``ordna_bench_sync``
created on it and dropped afterwards — and serves the Fortnox sandbox over HTTP with Fortnox's
limit of 25 requests per 5-s sliding window, in a process of its own (as Fortnox is: its work
does not share our interpreter). The sandbox tenant gets its articles straight into its state
in that process (not through 50 000 POSTs); the integration is connected with real sandbox
tokens.

Then the ``articles`` part of a first sync (no cursor) runs (`run_sync`, in this process):
pages of 500, a query for our articles and one for the links per page, bulk inserts, a commit
per page. Prints the articles created, the Fortnox calls, the elapsed time, Fortnox's floor for
that many calls — 5 s × (⌈calls / 25⌉ − 1): 25 go at once, each further 25 one window later —
the ratio (target ≤ 1.10) and the 429 answers; then, once the rate-limit window has passed,
the same for a second sync with nothing changed (one call). Reports only; never asserts.

Knobs: ``BENCH_ARTICLES`` (50 000), ``BENCH_SYNC_DATABASE_URL`` (see above).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_send import postgres_database  # noqa: E402
from flask_migrate import upgrade  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.articles.models import Article  # noqa: E402
from app.config import TestConfig  # noqa: E402
from app.extensions import db  # noqa: E402
from app.integrations.fortnox import sync  # noqa: E402
from app.integrations.models import FortnoxIntegration, SyncRun  # noqa: E402
from fortnox_sandbox.resources import article_defaults  # noqa: E402
from fortnox_sandbox.testing import SandboxServer, serve  # noqa: E402
from tests.fortnox_world import connect_to_sandbox  # noqa: E402

ARTICLES = int(os.environ.get("BENCH_ARTICLES", "50000"))
SERVER_URL = os.environ.get("BENCH_SYNC_DATABASE_URL")
DATABASE = "ordna_bench_sync"
FORTNOX_LIMIT, FORTNOX_WINDOW = 25, 5.0  # FACTS.md §2
TARGET_RATIO = 1.10
UNITS = ("st", "tim", "kg", "m", "l")


def say(message: str) -> None:
    print(message, flush=True)


@contextmanager
def database() -> Iterator[str]:
    """A database of the benchmark's own: SQLite in a temporary directory, or PostgreSQL."""
    if not SERVER_URL:
        with tempfile.TemporaryDirectory(prefix="ordna-bench-sync-") as directory:
            yield f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        return
    with postgres_database(SERVER_URL, DATABASE) as url:
        yield url


def seed_articles(sandbox: SandboxServer, tenant: int, count: int) -> None:
    """``count`` articles (a few inactive) straight into the tenant's registers."""
    state = sandbox.app.extensions["fortnox_sandbox"]
    with state.lock:
        registers = state.tenant(tenant).registers
        articles = registers.setdefault("articles", {})
        prices = registers.setdefault("prices", {})
        an_hour_ago = state.clock.time() - 3600  # so a second sync finds nothing changed
        for n in range(count):
            number = f"{100000 + n}"
            articles[number] = {
                **article_defaults(),
                "ArticleNumber": number,
                "Description": f"Reservdel {n} – filter, packning eller rem",
                "Unit": UNITS[n % len(UNITS)],
                "Type": "STOCK",
                "Active": n % 100 != 99,
                "_modified": an_hour_ago,
            }
            prices[f"A/{number}/0"] = {
                "PriceList": "A",
                "ArticleNumber": number,
                "FromQuantity": 0.0,
                "Price": float(10 + n % 5000) + 0.5,
                "Percent": 0.0,
                "Date": None,
                "_modified": an_hour_ago,
            }


def connect(sandbox: SandboxServer, tenant: int) -> int:
    return connect_to_sandbox(sandbox, tenant).id


def timed_sync(
    sandbox: SandboxServer, integration_id: int, part: str = "articles"
) -> tuple[SyncRun, float, list]:
    """Run one ``part`` of a sync; returns the run, its seconds and its Fortnox calls."""
    integration = db.session.get(FortnoxIntegration, integration_id)
    assert integration is not None
    run = sync.start_sync(integration, [part], trigger="manual", by=None)
    db.session.commit()
    sandbox.clear_requests()
    started = time.monotonic()
    sync.run_sync(run.id)
    elapsed = time.monotonic() - started
    db.session.expire_all()
    done = db.session.get(SyncRun, run.id)
    assert done is not None
    calls = [c for c in sandbox.requests_log() if c["path"].startswith("/3/")]
    return done, elapsed, calls


def report(title: str, done: SyncRun, elapsed: float, calls: list) -> None:
    counts = (done.counts or {}).get("articles", {})
    floor = FORTNOX_WINDOW * (math.ceil(len(calls) / FORTNOX_LIMIT) - 1)
    throttled = sum(1 for c in calls if c.get("status") == 429)
    say(f"-- {title}: {done.status.value}")
    shown = ", ".join(f"{key} {counts.get(key, 0)}" for key in sync.COUNT_KEYS)
    say(f"   {shown}")
    say(f"   Fortnox calls:   {len(calls)} (429 answers: {throttled})")
    say(f"   elapsed:         {elapsed:.2f} s")
    if floor > 0:
        ratio = elapsed / floor
        verdict = "ok" if ratio <= TARGET_RATIO else "over target"
        say(f"   rate-limit floor 5 s × (⌈{len(calls)}/25⌉ − 1) = {floor:.1f} s")
        say(f"   ratio:           {ratio:.3f} (target ≤ {TARGET_RATIO:.2f}: {verdict})")
    else:
        say("   rate-limit floor 0 s (at most 25 calls)")
    say(f"   last log line:   {done.log[-1]['text'] if done.log else ''}")


Seed = Callable[[SandboxServer, int, int], None]


def sandbox_process(count: int, conn: Connection, seed: Seed) -> None:
    """The sandbox's own process: a tenant seeded by ``seed``, served until the parent says
    stop."""
    with serve() as sandbox:
        tenant = sandbox.create_tenant("Reservdelar i Norr AB", "556777-1234", seed=False)
        started = time.monotonic()
        seed(sandbox, tenant, count)
        conn.send((sandbox.host, sandbox.port, tenant, time.monotonic() - started))
        conn.recv()


@contextmanager
def sandbox_server(
    count: int, seed: Seed = seed_articles
) -> Iterator[tuple[SandboxServer, int, float]]:
    """The sandbox in a process of its own, its tenant seeded by ``seed`` (a module-level
    function: it is passed to that process by name); a handle that speaks to it over HTTP."""
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    process = context.Process(target=sandbox_process, args=(count, theirs, seed), daemon=True)
    process.start()
    try:
        if not ours.poll(120):
            raise SystemExit("the sandbox process did not start")
        host, port, tenant, seeded = ours.recv()
        # Only the HTTP side of the handle is used (its app and server live in that process).
        handle = SandboxServer(app=None, host=host, port=port, server=None)  # type: ignore[arg-type]
        try:
            yield handle, tenant, seeded
        finally:
            handle.http.close()
    finally:
        ours.send("stop")
        process.join(timeout=10)
        if process.is_alive():
            process.terminate()
            process.join()


def main() -> None:
    # Alembic reflecting the partial indexes says so; nothing a reader of the numbers needs.
    warnings.filterwarnings("ignore", message="Skipped unsupported reflection")
    with sandbox_server(ARTICLES) as (sandbox, tenant, seeded), database() as url:
        say(
            f"== {ARTICLES} articles in the sandbox ({seeded:.1f} s to seed, in its own "
            f"process); database: {make_url(url).get_backend_name()}"
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
            integration_id = connect(sandbox, tenant)
            done, elapsed, calls = timed_sync(sandbox, integration_id)
            report("first sync", done, elapsed, calls)
            ours = db.session.scalar(select(func.count()).select_from(Article))
            say(f"   articles here:   {ours}")
            # The first sync spent the rate-limit window; let it pass, so the second sync
            # shows its own cost rather than the wait for a slot.
            time.sleep(FORTNOX_WINDOW + 0.5)
            done, elapsed, calls = timed_sync(sandbox, integration_id)
            report("second sync, nothing changed", done, elapsed, calls)
            db.session.remove()
            db.engine.dispose()


if __name__ == "__main__":
    main()
