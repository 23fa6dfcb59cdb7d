"""Every page and API list at a real company's size (issue #18).

Run: ``make bench-scale`` or ``.venv/bin/python benchmarks/bench_scale.py`` (not part of
``make bench`` or ``make test``: it takes a few minutes). In a PostgreSQL database of its own
(``BENCH_SCALE_DATABASE``, default ``ordna_scale``, created if missing) it runs
`flask db upgrade`, empties the tables and builds the data set of the issue in bulk SQL,
repeatable from ``BENCH_SEED``: 100 000 orders (≈ 300 000 actions, ≈ 500 000 article rows),
20 000 customers (with facilities, contacts, tags) and 50 000 articles. A database that holds
data the benchmark did not make is refused, never emptied.

Then it serves the app with gunicorn (2 workers × 4 threads, gthread) on a free loopback
port and, from a second process, drives each request below at a concurrency of 8: a static
file from the same server first and last (the yardstick), the order list, its page 500, an
order search, an order page (5 rows), the customer register, article suggestions, the API's
order list (50 a page) and an API order. For each it prints p50, p95, requests/s, p95 ÷ the
static file's p95 and the answer's size. Last, in this process, it saves a 40-row order
through the API (PATCH, five times) and prints the SQL statements and their time, counted
in SQLAlchemy's cursor events.

Goals (issue #18): p95 within 3 × the static file, no page over 150 KB, a 40-row save in
under 50 ms of SQL. It reports only; it exits 1 when the run itself fails (an answer other
than 200, a server that did not start).

Knobs: ``BENCH_SCALE_DATABASE`` (ordna_scale), ``BENCH_DATABASE_URL`` (a PostgreSQL server,
default postgresql+psycopg://postgres@127.0.0.1:5432/postgres; the database name is
replaced), ``BENCH_SEED`` (18), ``BENCH_SIZE`` (1.0: a fraction of the data set, for a quick
try), ``BENCH_REQUESTS`` (200 per request kind, at most ``BENCH_SECONDS``, 30, each).
"""

from __future__ import annotations

import multiprocessing
import os
import re
import secrets
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402
from bench_send import Processes, say  # noqa: E402
from sqlalchemy import create_engine, event, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from app import create_app  # noqa: E402
from app.auth.models import User  # noqa: E402
from app.auth.services import create_api_token, create_user  # noqa: E402
from app.config import Config  # noqa: E402
from app.extensions import db  # noqa: E402

DATABASE = os.environ.get("BENCH_SCALE_DATABASE") or "ordna_scale"
SERVER_URL = os.environ.get("BENCH_DATABASE_URL") or (
    "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
SEED = int(os.environ.get("BENCH_SEED", "18"))
SIZE = float(os.environ.get("BENCH_SIZE", "1.0"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))
BIN = Path(sys.executable).parent
ADMIN = "scale-admin@bench.test"  # marks a database this benchmark built
PASSWORD = "bench-scale-password"
CONCURRENCY = 8
WORKERS, THREADS = 2, 4
ORDERS, CUSTOMERS, ARTICLES = (round(n * SIZE) for n in (100_000, 20_000, 50_000))
TECHNICIANS = 20
ORDER_TERM = "kylmontage"  # in ≈ 1 % of the customers' names
ARTICLE_TERM = "packning gum"  # in ≈ 1 % of the articles' names
SAVE_ROWS, SAVES = 40, 5
GOAL_RATIO, GOAL_KB, GOAL_SAVE_MS = 3.0, 150, 50.0


# --- the database -----------------------------------------------------------------------------


def database_url() -> str:
    """The benchmark's database, created if missing."""
    server = make_url(SERVER_URL)
    if not server.drivername.startswith("postgresql"):
        raise SystemExit(f"the benchmark needs PostgreSQL, not {server.drivername}")
    engine = create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": DATABASE})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{DATABASE}"'))
    engine.dispose()
    return server.set(database=DATABASE).render_as_string(hide_password=False)


def refuse_foreign_data(conn: Any) -> None:
    """Only a database this benchmark built (or an empty one) is emptied."""
    orders = conn.scalar(text("SELECT count(*) FROM (SELECT 1 FROM orders LIMIT 1) AS o"))
    ours = conn.scalar(text("SELECT count(*) FROM users WHERE email = :e"), {"e": ADMIN})
    if orders and not ours:
        raise SystemExit(f"database {DATABASE!r} holds orders the benchmark did not make")


WORDS = {
    "prefix": ["Kyl", "Värme", "Verkstads", "Bygg", "Fastighets", "Maskin", "Plåt", "El", "VVS",
               "Lager", "Trä", "Transport", "Hamn", "Bil", "Mekaniska"],
    "middle": ["montage", "service", "teknik", "partner", "gruppen", "centralen", "huset"],
    "family": ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
               "Persson", "Svensson", "Gustafsson"],
    "first": ["Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Per", "Sara", "Nils"],
    "city": ["Stockholm", "Göteborg", "Malmö", "Uppsala", "Västerås", "Örebro", "Linköping",
             "Helsingborg", "Jönköping", "Norrköping", "Lund", "Umeå", "Gävle", "Borås",
             "Södertälje", "Eskilstuna", "Halmstad", "Växjö", "Karlstad", "Sundsvall"],
    "part": ["Oljefilter", "Luftfilter", "Kilrem", "Packning", "Kullager", "Ventil", "Termostat",
             "Kompressorolja", "Slang", "Kabel", "Säkring", "Relä", "Givare", "Pump", "Fläkt",
             "Motor", "Tätning", "Skruv", "Mutter", "Kopplingsdosa"],
    "material": ["stål", "mässing", "gummi", "plast", "koppar"],
    "work": ["Årlig service av kompressor", "Byte av oljefilter", "Läckage i kylaggregat",
             "Felsökning styrsystem", "Installation av värmepump", "Reparation av port",
             "Byte av kilrem", "Kontroll av tryckkärl", "Rengöring av kondensor",
             "Injustering av ventilation", "Byte av termostat", "Service av truck"],
    "place": ["lagret", "kontoret", "verkstaden", "hallen", "taket", "pannrummet"],
    "unit": ["st", "st", "st", "m", "l", "kg", "tim"],
}  # fmt: skip


def pick(words: str, seed: str = "random()") -> str:
    """SQL: a random element of WORDS[words]."""
    values = ", ".join("'" + w.replace("'", "''") + "'" for w in WORDS[words])
    return f"(ARRAY[{values}])[1 + floor({seed} * {len(WORDS[words])})::int]"


def load_statements(password_hash: str) -> list[tuple[str, str]]:
    """(what, SQL) that build the data set; the seed is set first in the same session."""
    tech_ids = f"(2 + floor(random() * {TECHNICIANS})::int)"  # the admin is user 1
    return [
        (
            "users",
            f"""
            INSERT INTO users (name, email, password_hash, role, locale, active, created_at,
                               fortnox_refresh_on_login, session_version)
            SELECT {pick("first")} || ' ' || {pick("family")}, 'tekniker' || n || '@bench.test',
                   '{password_hash}', 'technician', 'sv', true, now(), false, 0
            FROM generate_series(1, {TECHNICIANS}) AS n""",
        ),
        (
            "tags",
            """
            INSERT INTO tags (name) SELECT unnest(ARRAY['Avtalskund', 'Kyla', 'Värme', 'Nyckel',
                'Larm', 'Storkund', 'Offentlig', 'Jour'])""",
        ),
        (
            "customers",
            f"""
            INSERT INTO customers (customer_number, name, organisation_number, address1,
                                   zip_code, city, email, phone, active, custom_fields,
                                   created_at, updated_at)
            SELECT (10000 + n)::text,
                   {pick("prefix")} || {pick("middle")} || ' ' || {pick("family")} || ' AB',
                   '556' || lpad((n * 7919 % 1000000)::text, 6, '0') || '-' || (n % 10),
                   'Industrigatan ' || (1 + n % 120), lpad((10000 + n * 37 % 89999)::text, 5),
                   {pick("city")}, 'info' || n || '@kund.test', '031-' || (100000 + n),
                   random() > 0.03, '{{}}', now(), now()
            FROM generate_series(1, {CUSTOMERS}) AS n""",
        ),
        (
            "customer tags",
            """
            INSERT INTO customer_tags (customer_id, tag_id)
            SELECT id, 1 + id % 8 FROM customers WHERE id % 3 = 0
            UNION SELECT id, 1 + (id / 7) % 8 FROM customers WHERE id % 7 = 0""",
        ),
        (
            "contacts",
            f"""
            INSERT INTO contact_persons (customer_id, name, phone, email)
            SELECT id, {pick("first")} || ' ' || {pick("family")}, '070-' || (1000000 + id),
                   'kontakt' || id || '@kund.test'
            FROM customers ORDER BY id""",
        ),
        (
            "facilities",
            f"""
            INSERT INTO facilities (customer_id, name, address1, city, custom_fields)
            SELECT id, 'Huvudanläggning', 'Hamngatan ' || (1 + id % 90), {pick("city")}, '{{}}'
            FROM customers ORDER BY id""",
        ),
        (
            "second facilities",
            f"""
            INSERT INTO facilities (customer_id, name, address1, city, custom_fields)
            SELECT id, 'Lager ' || (id % 40), 'Lagervägen ' || (1 + id % 60), {pick("city")},
                   '{{}}'
            FROM customers WHERE id % 4 = 0 ORDER BY id""",
        ),
        (
            "service objects",
            """
            INSERT INTO service_objects (facility_id, name, machine_number, operating_hours)
            SELECT id, 'ATLAS COPCO GA ' || (5 + id % 50), 'M' || (100000 + id), id % 20000
            FROM facilities WHERE id % 2 = 0 ORDER BY id""",
        ),
        (
            "articles",
            f"""
            INSERT INTO articles (article_number, name, unit, price, active, hidden, created_at,
                                  updated_at)
            SELECT 'A' || lpad(n::text, 6, '0'),
                   {pick("part")} || ' ' || {pick("material")} || ' ' || (5 + n % 95) || ' mm',
                   {pick("unit")}, round((5 + random() * 2000)::numeric, 2), random() > 0.02,
                   false, now(), now()
            FROM generate_series(1, {ARTICLES}) AS n""",
        ),
        (
            "orders",
            f"""
            INSERT INTO orders (kind, number, status, customer_id, facility_id, contact_id,
                                orderer, assigned_user_id, customer_order_number, description,
                                custom_fields, fortnox_state, fortnox_reference, created_at,
                                updated_at)
            SELECT kind, 1000 + row_number() OVER (PARTITION BY kind ORDER BY n), status,
                   customer, customer, customer, orderer, technician, po, description, '{{}}',
                   CASE status WHEN 'invoiced' THEN 'invoiced' WHEN 'sent' THEN 'sent'
                               ELSE 'not_sent' END,
                   'ordna-' || substr(md5('{SEED}-' || n), 1, 24), created, created
            FROM (
                SELECT n, (ARRAY['service', 'work', 'sales'])[1 + floor(random() * 3)::int] AS kind,
                       CASE WHEN n > {ORDERS} - 3000
                            THEN (ARRAY['draft', 'in_progress', 'ready'])[1 + n % 3]
                            ELSE (ARRAY['invoiced', 'invoiced', 'sent', 'cancelled'])[1 + n % 4]
                       END AS status,
                       1 + floor(random() * {CUSTOMERS})::int AS customer,
                       {pick("first")} || ' ' || {pick("family")} AS orderer,
                       {tech_ids} AS technician,
                       CASE WHEN random() < 0.5
                            THEN 'PO-' || (100000 + floor(random() * 900000)::int) END AS po,
                       {pick("work")} || ' i ' || {pick("place")} AS description,
                       timestamptz '2023-12-01 08:00+01' + n * interval '15 minutes' AS created
                FROM generate_series(1, {ORDERS}) AS n
            ) AS o""",
        ),
        (
            "actions",
            f"""
            INSERT INTO actions (order_id, position, date, description, technician_id, hours)
            SELECT o.id, p, (o.created_at + (p - 1) * interval '1 day')::date,
                   {pick("work")}, o.assigned_user_id, 0.5 * (1 + floor(random() * 8))
            FROM orders AS o
            CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 5)::int + 0 * o.id) AS p""",
        ),
        (
            "article rows",
            f"""
            INSERT INTO article_rows (order_id, position, article_id, quantity, unit, price,
                                      date, technician_id)
            SELECT o.id, p, a.id, 1 + floor(random() * 4), a.unit, a.price,
                   o.created_at::date, o.assigned_user_id
            FROM orders AS o
            CROSS JOIN LATERAL generate_series(1, 1 + floor(random() * 9)::int + 0 * o.id) AS p
            JOIN articles AS a
              ON a.id = 1 + abs(hashint8(o.id::bigint * 16 + p + {SEED * 1_000_003})) % {ARTICLES}
            ORDER BY o.id, p""",
        ),
        (
            "number sequences",
            """
            UPDATE order_number_sequences AS s SET next_number = m.next
            FROM (SELECT kind, max(number) + 1 AS next FROM orders GROUP BY kind) AS m
            WHERE s.kind = m.kind""",
        ),
    ]


def build(url: str) -> dict[str, Any]:
    """Empty the tables and load the data set; what the run needs of it."""
    app = create_app(bench_config(url))
    with app.app_context():
        refuse_foreign_data(db.session.connection())
        tables = [t.name for t in db.metadata.sorted_tables]
        db.session.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        db.session.execute(
            text(
                "INSERT INTO order_number_sequences (kind, next_number) VALUES "
                "('service', 1001), ('work', 1001), ('sales', 1001)"
            )  # fmt: skip
        )
        admin = create_user(email=ADMIN, name="Ada Admin", password=PASSWORD, role="admin")
        admin.fortnox_refresh_on_login = False
        token = create_api_token(admin, "bench-scale")
        db.session.commit()
        conn = db.session.connection()
        conn.execute(text("SET max_parallel_workers_per_gather = 0"))  # one order of rows
        conn.execute(text("SELECT setseed(:s)"), {"s": (SEED % 1000) / 1000})
        cursor = conn.connection.cursor()
        began = time.monotonic()
        for what, sql in load_statements(admin.password_hash):
            started = time.monotonic()
            cursor.execute(sql)  # no parameters: % is SQL's modulo here
            count = cursor.rowcount
            say(f"  {what:<18} {count:>8} rows  {time.monotonic() - started:6.1f} s")
        db.session.commit()
        loaded = time.monotonic() - began
        started = time.monotonic()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as vacuum:
            vacuum.execute(text("VACUUM ANALYZE"))
        say(f"  loaded in {loaded:.1f} s, VACUUM ANALYZE {time.monotonic() - started:.1f} s")
        five_rows = db.session.scalar(
            text(
                "SELECT order_id FROM article_rows GROUP BY order_id HAVING count(*) = 5 "
                "ORDER BY order_id DESC LIMIT 1"
            )  # fmt: skip
        )
        counts = {
            t: db.session.scalar(text(f"SELECT count(*) FROM {t}"))
            for t in ("orders", "actions", "article_rows", "customers", "articles")
        }
        db.session.remove()
        db.engine.dispose()
    return {"token": token, "order_id": five_rows, "counts": counts, "load_s": loaded}


def bench_config(url: str, secret: str = "bench-scale-secret") -> type:
    return type(
        "ScaleConfig",
        (Config,),
        {
            "SECRET_KEY": secret,
            "SQLALCHEMY_DATABASE_URI": url,
            "REDIS_URL": None,
            "JOBS_INLINE": True,
            "FORTNOX_CLIENT_ID": "bench",
            "FORTNOX_CLIENT_SECRET": "bench",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        },
    )


# --- the server and the load ------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def gunicorn(url: str, logs: Path) -> Iterator[str]:
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("ORDNA_ENV", "FLASK_DEBUG")},
        "DATABASE_URL": url,
        "SECRET_KEY": secrets.token_hex(16),
        "FORTNOX_CLIENT_ID": "bench",
        "FORTNOX_CLIENT_SECRET": "bench",
        "FORTNOX_API_URL": "http://127.0.0.1:9/3",  # never called: no integration
        "FORTNOX_OAUTH_URL": "http://127.0.0.1:9/oauth-v1",
        "SESSION_COOKIE_SECURE": "0",
        "REDIS_URL": "",
        "PYTHONUNBUFFERED": "1",
    }
    processes = Processes(env, logs)
    try:
        server = processes.start(
            "gunicorn", str(BIN / "gunicorn"), "-w", str(WORKERS), "--threads", str(THREADS),
            "-k", "gthread", "-b", f"127.0.0.1:{port}", "--timeout", "120", "wsgi:app",
        )  # fmt: skip
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(base + "/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start:\n{processes.tail('gunicorn')}")
            time.sleep(0.2)
        yield base
    finally:
        processes.stop()


def sign_in(base: str) -> dict[str, str]:
    """The session cookie of the admin, signed in through the login form."""
    http = requests.Session()
    form = http.get(base + "/login", timeout=10).text
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    if match is None:
        raise SystemExit("no CSRF token on the login page")
    answer = http.post(
        base + "/login",
        data={"csrf_token": match.group(1), "email": ADMIN, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if answer.status_code != 302:
        raise SystemExit(f"signing in failed: {answer.status_code}")
    return http.cookies.get_dict()


@dataclass
class Target:
    name: str
    path: str
    api: bool = False


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)


def run_target(base: str, cookies: dict[str, str], token: str, target: Target) -> Result:
    """`REQUESTS` requests (at most `SECONDS`) at `CONCURRENCY`, after a warm-up."""
    result = Result(target.name)
    local = threading.local()
    lock = threading.Lock()
    issued = {"n": 0}

    def session() -> requests.Session:
        if not hasattr(local, "http"):
            local.http = requests.Session()
            if target.api:
                local.http.headers["Authorization"] = f"Bearer {token}"
            else:
                local.http.cookies.update(cookies)
        http: requests.Session = local.http
        return http

    def one() -> None:
        started = time.perf_counter()
        answer = session().get(base + target.path, timeout=120, allow_redirects=False)
        took = time.perf_counter() - started
        with lock:
            if answer.status_code != 200:
                result.errors.append(f"{answer.status_code} {target.path}")
            result.latencies.append(took)
            result.sizes.append(len(answer.content))

    def worker(deadline: float) -> None:
        while time.monotonic() < deadline:
            with lock:
                if issued["n"] >= REQUESTS:
                    return
                issued["n"] += 1
            one()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(lambda _: one(), range(CONCURRENCY)))  # warm-up, not counted
        result.latencies.clear()
        result.sizes.clear()
        began = time.monotonic()
        list(pool.map(worker, [began + SECONDS] * CONCURRENCY))
        result.elapsed = time.monotonic() - began
    return result


def drive(base: str, cookies: dict[str, str], token: str, targets: list[Target],
          out: Any) -> None:  # fmt: skip
    """The load generator, in a process of its own: each target in turn."""
    out.send([run_target(base, cookies, token, t) for t in targets])
    out.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


# --- saving a 40-row order --------------------------------------------------------------------


@contextmanager
def sql_timer(engine: Any) -> Iterator[dict[str, float]]:
    """Statements and their time (ms) while the block runs."""
    seen = {"statements": 0, "ms": 0.0}
    starts: list[float] = []

    def before(*_args: Any) -> None:
        starts.append(time.perf_counter())

    def after(*_args: Any) -> None:
        seen["statements"] += 1
        seen["ms"] += (time.perf_counter() - starts.pop()) * 1000

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)


def measure_save(url: str, token: str, order_id: int) -> list[dict[str, float]]:
    """PATCH an order with 40 article rows (and 4 actions) `SAVES` times, each a change."""
    app = create_app(bench_config(url))
    runs = []
    with app.app_context():
        numbers = db.session.scalars(
            text("SELECT article_number FROM articles WHERE active ORDER BY id LIMIT :n"),
            {"n": SAVE_ROWS},
        ).all()
        tech = db.session.scalar(select(User.id).where(User.role == "technician"))
        db.session.remove()
        client = app.test_client()
        for attempt in range(SAVES + 1):
            body = {
                "article_rows": [
                    {"article_number": n, "quantity": 1 + (i + attempt) % 5, "technician_id": tech}
                    for i, n in enumerate(numbers)
                ],
                "actions": [
                    {"date": (date(2026, 12, 1) + timedelta(days=i)).isoformat(),
                     "description": f"Åtgärd {i} ({attempt})", "technician_id": tech, "hours": 1}
                    for i in range(4)
                ],
            }  # fmt: skip
            started = time.perf_counter()
            with sql_timer(db.engine) as seen:
                answer = client.patch(
                    f"/api/v1/orders/{order_id}",
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
            wall = (time.perf_counter() - started) * 1000
            if answer.status_code != 200:
                raise SystemExit(f"saving failed: {answer.status_code} {answer.get_data()!r}")
            if attempt:  # the first one warms caches
                runs.append({**seen, "wall_ms": wall})
        db.session.remove()
        db.engine.dispose()
    return runs


# --- the run ----------------------------------------------------------------------------------


def migrate(url: str, logs: Path) -> None:
    env = {**os.environ, "FLASK_APP": "wsgi.py", "DATABASE_URL": url,
           "SECRET_KEY": "bench-scale-migrate", "FORTNOX_CLIENT_ID": "bench",
           "FORTNOX_CLIENT_SECRET": "bench"}  # fmt: skip
    env.pop("ORDNA_ENV", None)
    processes = Processes(env, logs)
    started = time.monotonic()
    processes.run("migrate", str(BIN / "flask"), "db", "upgrade")
    say(f"flask db upgrade: {time.monotonic() - started:.1f} s")


def report(results: list[Result], static: Result) -> list[str]:
    static_p95 = percentile(static.latencies, 0.95)
    say("")
    say(f"{'request':<34} {'p50 ms':>8} {'p95 ms':>8} {'req/s':>7} {'p95÷static':>10} {'KB':>8}")
    missed = []
    for r in [static, *results]:
        p50, p95 = percentile(r.latencies, 0.5), percentile(r.latencies, 0.95)
        rate = len(r.latencies) / r.elapsed if r.elapsed else float("nan")
        kb = statistics.mean(r.sizes) / 1024
        ratio = p95 / static_p95
        say(f"{r.name:<34} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {rate:7.1f} {ratio:10.1f} "
            f"{kb:8.1f}")  # fmt: skip
        if r is static:
            continue
        if ratio > GOAL_RATIO:
            missed.append(f"{r.name}: p95 {ratio:.1f} × static")
        if kb > GOAL_KB:
            missed.append(f"{r.name}: {kb:.0f} KB")
    return missed


def main() -> int:
    url = database_url()
    say(f"database {DATABASE}: {ORDERS} orders, {CUSTOMERS} customers, {ARTICLES} articles, "
        f"seed {SEED}; {os.cpu_count()} CPUs")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="ordna-bench-scale-") as logs:
        migrate(url, Path(logs))
        data = build(url)
        say("rows: " + ", ".join(f"{k} {v}" for k, v in data["counts"].items()))
        order_id, token = data["order_id"], data["token"]
        targets = [
            Target("/orders", "/orders"),
            Target("/orders?page=500", "/orders?page=500"),
            Target(f"/orders?q={ORDER_TERM}", f"/orders?q={ORDER_TERM}"),
            Target("order page (5 rows)", f"/orders/{order_id}"),
            Target("/customers", "/customers"),
            Target("article suggestions", f"/articles/suggest?q={ARTICLE_TERM}"),
            Target("GET /api/v1/orders?per_page=50", "/api/v1/orders?per_page=50", api=True),
            Target("GET /api/v1/orders/{id}", f"/api/v1/orders/{order_id}", api=True),
        ]
        static = Target("static file (/static/app.css)", "/static/app.css")
        with gunicorn(url, Path(logs)) as base:
            cookies = sign_in(base)
            say(
                f"gunicorn {WORKERS} workers × {THREADS} threads (gthread) at {base}; {REQUESTS} "
                f"requests (≤ {SECONDS:.0f} s) per kind at concurrency {CONCURRENCY}"
            )
            context = multiprocessing.get_context("spawn")
            receive, send = context.Pipe(duplex=False)
            driver = context.Process(
                target=drive, args=(base, cookies, token, [static, *targets, static], send)
            )
            driver.start()
            send.close()
            results: list[Result] = receive.recv()
            driver.join(timeout=30)
        errors = [e for r in results for e in r.errors]
        if errors:
            say(f"failed answers: {errors[:10]}")
            return 1
        first, *measured, last = results
        static_result = Result(
            static.name, first.latencies + last.latencies, first.sizes + last.sizes,
            first.elapsed + last.elapsed,
        )  # fmt: skip
        missed = report(measured, static_result)
        say(f"static p95: first {percentile(first.latencies, 0.95) * 1000:.1f} ms, "
            f"last {percentile(last.latencies, 0.95) * 1000:.1f} ms")  # fmt: skip
        runs = measure_save(url, token, order_id)
        sql_ms = statistics.median(r["ms"] for r in runs)
        statements = statistics.median(r["statements"] for r in runs)
        wall = statistics.median(r["wall_ms"] for r in runs)
        say(
            f"saving a {SAVE_ROWS}-row order (API PATCH, median of {SAVES}): {sql_ms:.1f} ms "
            f"SQL in {statements:.0f} statements, {wall:.0f} ms in all"
        )
        if sql_ms >= GOAL_SAVE_MS:
            missed.append(f"save: {sql_ms:.0f} ms SQL")
        say("goals            " + ("met" if not missed else "MISSED: " + "; ".join(missed)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
