"""What the send benchmark (benchmarks/bench_send.py) and the send soak
(tests/soak/test_send_soak.py) both set up to run real `flask worker` processes: a PostgreSQL
database of their own, the subprocesses, the app's config for them and the ready orders.

No pytest here: the benchmark runs as a plain script (``make bench``). Where a benchmark
exits and a test fails, :meth:`Processes.failed` is the one place that differs.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

from app.orders.models import Order
from app.orders.services import create_order

ROOT = Path(__file__).resolve().parent.parent
FLASK = str(Path(sys.executable).with_name("flask"))


@contextmanager
def postgres_database(server_url: str | URL, name: str) -> Iterator[str]:
    """A PostgreSQL database ``name`` of a campaign's own on ``server_url`` (any database
    named there; the server's ``postgres`` one is used to create it), dropped afterwards;
    yields its URL."""
    server = make_url(server_url)
    if not server.drivername.startswith("postgresql"):
        raise SystemExit(f"the benchmark needs PostgreSQL, not {server.drivername}")
    engine = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


class Processes:
    """Subprocesses, each in a process group of its own (so a worker's children end with it),
    ended by their ids; each writes to ``logs/<name>.log``."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs = env, logs
        self.started: list[subprocess.Popen[bytes]] = []

    def failed(self, message: str) -> NoReturn:
        """A process the campaign needs failed: the benchmark exits (a test fails instead)."""
        raise SystemExit(message)

    def start(self, name: str, *argv: str) -> subprocess.Popen[bytes]:
        with open(self.logs / f"{name}.log", "ab") as log:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.started.append(process)
        return process

    def flask(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        """``flask <args>`` (a worker, the sweeper…) in the virtualenv running this."""
        return self.start(name, FLASK, *args)

    def run(self, name: str, *argv: str, timeout: float = 300) -> str:
        """Run ``argv`` to its end (killed after ``timeout``); its output. A non-zero exit is
        :meth:`failed`."""
        process = self.start(name, *argv)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill(process)
            raise
        output = (self.logs / f"{name}.log").read_text(errors="replace")
        if process.returncode != 0:
            self.failed(f"{' '.join(argv)} failed:\n{output[-3000:]}")
        return output

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.logs / f"{name}.log"
        output = path.read_text(errors="replace") if path.exists() else ""
        return "\n".join(output.splitlines()[-lines:])

    @staticmethod
    def kill(process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the process's group (if it still runs) and reap it."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass

    def stop(self) -> None:
        """SIGTERM to every process still running; SIGKILL to those not gone 10 s later."""
        for process in self.started:
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        deadline = time.monotonic() + 10
        for process in self.started:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.kill(process)


def worker_config(
    base: type, database_url: str, redis_url: str, sandbox: Any, secret: str, **extra: Any
) -> type:
    """The app's config for the campaign's own process: ``base`` on the campaign's database,
    Redis (jobs go to the real workers) and sandbox (its ``api_url`` and ``oauth_url``), with
    cheap password hashing; ``extra`` settings on top."""
    return type(
        f"Campaign{base.__name__}",
        (base,),
        {
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "REDIS_URL": redis_url,
            "JOBS_INLINE": False,
            "FORTNOX_API_URL": sandbox.api_url,
            "FORTNOX_OAUTH_URL": sandbox.oauth_url,
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            **extra,
        },
    )


def work_orders(
    count: int, customers: Sequence[tuple[Any, Any]], articles: Sequence[str], *, by: Any
) -> list[Order]:
    """``count`` work orders by ``by`` over ``customers`` ((customer, facility) pairs) and
    ``articles`` (numbers), in turn: one action and two article rows each. Drafts, flushed,
    not committed."""
    orders = []
    for n in range(count):
        customer, facility = customers[n % len(customers)]
        orders.append(
            create_order(
                {
                    "kind": "work",
                    "customer_id": customer.id,
                    "facility_id": facility.id,
                    "actions": [{"date": date(2026, 11, 20), "description": f"Åtgärd {n}"}],
                    "article_rows": [
                        {
                            "article_number": articles[n % len(articles)],
                            "quantity": Decimal(1 + n % 3),
                        },
                        {
                            "article_number": articles[(n * 7 + 3) % len(articles)],
                            "quantity": Decimal("1.5"),
                        },
                    ],
                },
                by=by,
            )
        )
    return orders
