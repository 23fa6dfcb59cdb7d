"""Browser tests: the app served by werkzeug on 127.0.0.1 (a free port, in a thread) and
driven through Playwright by Debian's Chromium, with CSRF on as in production.

Chromium missing fails the run on CI and skips these tests elsewhere. Each test starts from
the empty database the `app` fixture leaves behind, and leaves it empty again."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
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
from app.orders.services import create_order
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


@pytest.fixture
def live_server(migrated_database: str) -> Iterator[LiveServer]:
    """The app on a free port of 127.0.0.1. The test's own app context (and so its
    `db.session`) is separate from the requests' ones: commit before the browser acts and
    read the database afresh after."""
    app = make_app(WTF_CSRF_ENABLED=True)
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
def phone(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """A page in a 375×812 phone viewport, Swedish browser settings."""
    context = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        locale="sv-SE",
        timezone_id="Europe/Stockholm",
        base_url=live_server.url,
        has_touch=True,
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"JavaScript errors: {errors}"


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
