"""Browser tests: the app served by werkzeug on 127.0.0.1 (a free port, in a thread) and
driven through Playwright by Debian's Chromium, with CSRF on as in production.

Chromium missing fails the run on CI and skips these tests elsewhere. Each test starts from
the empty database the `app` fixture leaves behind, and leaves it empty again.

`live_server` serves the app alone; `sending_server` serves it with a Fortnox sandbox of its
own and its jobs on an RQ queue of its own (Redis), which the test works when it chooses."""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from app.auth.models import Subgroup
from app.auth.services import create_user
from app.extensions import db
from app.jobs import RQQueue
from app.orders.services import create_order
from fortnox_sandbox.testing import serve
from tests import factories
from tests.conftest import _empty_tables, make_app

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
PASSWORD = "secret-password"
PHONE = {"width": 375, "height": 812}
DESKTOP = {"width": 1280, "height": 900}
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@dataclass
class LiveServer:
    app: Flask
    url: str


@contextmanager
def serving(app: Flask) -> Iterator[LiveServer]:
    """``app`` on a free port of 127.0.0.1, in a thread, inside an app context of the
    test's own; afterwards the server is stopped and the tables are emptied. The test's app
    context (and so its `db.session`) is separate from the requests' ones: commit before the
    browser acts and read the database afresh after."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield LiveServer(app, f"http://127.0.0.1:{server.server_port}")
            db.session.remove()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            _empty_tables()
            db.engine.dispose()


@pytest.fixture
def live_server(migrated_database: str) -> Iterator[LiveServer]:
    """The app (CSRF on) on a free port of 127.0.0.1 (see :func:`serving`)."""
    with serving(make_app(WTF_CSRF_ENABLED=True)) as live:
        yield live


def _redis_available() -> bool:
    try:
        from redis import Redis

        return bool(Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except Exception:
        return False


@dataclass
class SendingServer:
    live: LiveServer
    sandbox: Any
    tenant: str
    queue: RQQueue

    def work(self) -> None:
        """Run the queued jobs (the sends) to the end, as `flask worker --burst` does: in this
        thread, with the app context; each job makes an app context of its own."""
        from rq import SimpleWorker

        SimpleWorker([self.queue.queue], connection=self.queue.connection).work(burst=True)


@pytest.fixture
def sending_server(migrated_database: str) -> Iterator[SendingServer]:
    """The app (CSRF on) with a sandbox of its own (a tenant made) and its jobs on an RQ queue
    of its own on REDIS_URL (no Redis: skipped, failed on CI)."""
    if not _redis_available():
        message = f"Redis at {REDIS_URL} is not reachable; set REDIS_URL"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    with serve() as sandbox:
        app = make_app(
            WTF_CSRF_ENABLED=True,
            FORTNOX_API_URL=sandbox.api_url,
            FORTNOX_OAUTH_URL=sandbox.oauth_url,
        )
        queue = RQQueue(REDIS_URL, name=f"e2e-send-{uuid.uuid4().hex[:8]}")
        app.extensions["jobs"] = queue
        try:
            with serving(app) as live:
                tenant = sandbox.create_tenant("Kylteknik i Väst AB", "556123-4567")
                yield SendingServer(live, sandbox, tenant, queue)
        finally:
            queue.queue.delete(delete_jobs=True)
            # The queue's registries (finished jobs…) are keys named after it: ours alone.
            for key in queue.connection.scan_iter(match=f"*{queue.queue.name}*"):
                queue.connection.delete(key)


@contextmanager
def open_page(
    browser: Any, base_url: str, viewport: dict[str, int], *, timeout: float = 10_000
) -> Iterator[Any]:
    """A page in ``viewport`` (PHONE: touch, device scale 2), Swedish browser settings,
    ``timeout`` ms for each wait. Its browser context is closed afterwards, and a JavaScript
    error on the page fails the test."""
    context = browser.new_context(
        viewport=viewport,
        device_scale_factor=2 if viewport is PHONE else 1,
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        base_url=base_url,
        has_touch=viewport is PHONE,
    )
    context.set_default_timeout(timeout)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        yield page
    finally:
        context.close()
    assert not errors, f"JavaScript errors: {errors}"


@pytest.fixture
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A page in a 375×812 phone viewport, Swedish browser settings."""
    with open_page(browser, live_server.url, PHONE) as page:
        yield page


@dataclass
class Seed:
    technician_id: int
    order_id: int
    compressor_id: int
    truck_id: int


def seed_work_order() -> Seed:
    """A technician in Väst with an assigned work order at a customer with two machines, and
    a few articles to pick from."""
    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.flush()
    technician = create_user(
        email="tove@example.com",
        name="Tove Tekniker",
        password=PASSWORD,
        role="technician",
        subgroup=west,
        employee_number="11",
        cost_center="SERV",
    )
    office = create_user(
        email="kim@example.com", name="Kim Kontor", password=PASSWORD, role="office"
    )
    db.session.commit()
    customer = factories.customer(name="Verkstads AB i Borås", customer_number="2001")
    facility = factories.facility(customer, name="Huvudverkstaden", city="Borås")
    compressor = factories.service_object(
        facility, name="ATLAS COPCO GA 10", machine_number="K1", operating_hours=Decimal("12000")
    )
    truck = factories.service_object(facility, name="Linde E20", machine_number="T7")
    factories.article("1001", name="Oljefilter typ A", unit="st", price=Decimal("250.00"))
    factories.article("1002", name="Luftfilter typ B", unit="st", price=Decimal("95.50"))
    factories.article("1003", name="Kilrem XPZ 1000", unit="st", price=Decimal("129.00"))
    factories.article("T01", name="Arbetstid tekniker", unit="tim", price=Decimal("850.00"))
    order = create_order(
        {
            "kind": "work",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "subgroup_id": west.id,
            "assigned_user_id": technician.id,
            "description": "Kompressorn löser ut vid start",
        },
        by=office,
    )
    db.session.commit()
    seed = Seed(technician.id, order.id, compressor.id, truck.id)
    db.session.remove()  # no open transaction while the browser writes (SQLite locks)
    return seed


def sign_in(page: Any, email: str) -> None:
    page.goto("/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    page.wait_for_url("**/")
