""" "Skicka protokoll" on a phone (375×812): after sending, the answer is on screen where the
technician is (the protocol section), not in the flash at the top of a long page, and it says
nothing about the server's configuration."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from app.customers.services import update_customer
from app.extensions import db
from app.orders.models import Order
from tests.e2e import conftest as e2e
from tests.e2e.conftest import seed_work_order, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def live_server(migrated_database: str, tmp_path: Path) -> Iterator[e2e.LiveServer]:
    """The shared live server, but without a mail server, as with `make run`: mails are
    written as .eml files under an `instance/` folder."""
    import threading

    from werkzeug.serving import make_server

    app = e2e.make_app(
        WTF_CSRF_ENABLED=True, MAIL_BACKEND=None, MAIL_FILE_PATH=str(tmp_path / "instance/mail")
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with app.app_context():
            yield e2e.LiveServer(app, f"http://127.0.0.1:{server.server_port}")
            db.session.remove()
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            e2e._empty_tables()
            db.engine.dispose()


def test_the_answer_to_skicka_protokoll_is_in_view_on_a_phone(phone: Any, live_server: Any):
    seed = seed_work_order()
    order = db.session.get(Order, seed.order_id)
    update_customer(order.customer, {"contacts": [{"name": "Eva Ek", "email": "eva@kund.se"}]})
    order.contact = order.customer.contacts[0]
    db.session.commit()
    db.session.remove()
    page = phone

    sign_in(page, "tove@example.com")
    page.goto(f"/orders/{seed.order_id}")
    page.get_by_role("button", name="Skicka protokoll").click()
    page.wait_for_url(f"**/orders/{seed.order_id}#protokoll")

    notice = page.locator("#protocol-notice")
    expect(notice).to_be_visible()
    expect(notice).to_be_in_viewport()
    expect(notice).to_contain_text("eva@kund.se")
    expect(notice).to_contain_text("Kontakta en administratör")
    body = page.locator("body").inner_text()
    assert "MAIL_SERVER" not in body and "instance/" not in body and ".eml" not in body
