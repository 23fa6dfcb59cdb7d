"""What `make run` offers a newcomer: the admin signs in, connects to the bundled Fortnox
sandbox through its consent page, and sees the company name — in a real browser."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server

from app.auth.services import create_user
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.models import IntegrationState
from fortnox_sandbox.testing import serve
from tests.conftest import _empty_tables, make_app
from tests.e2e.conftest import DESKTOP, PASSWORD, LiveServer, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def connected_server(migrated_database: str) -> Iterator[tuple[LiveServer, object]]:
    """The app, pointed at a sandbox of its own, served on a free port (CSRF on)."""
    with serve() as sandbox:
        app = make_app(
            WTF_CSRF_ENABLED=True,
            FORTNOX_API_URL=sandbox.api_url,
            FORTNOX_OAUTH_URL=sandbox.oauth_url,
        )
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            with app.app_context():
                yield LiveServer(app, f"http://127.0.0.1:{server.server_port}"), sandbox
                db.session.remove()
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            with app.app_context():
                db.session.remove()
                _empty_tables()
                db.engine.dispose()


def test_admin_connects_to_the_sandbox_and_sees_the_company_name(browser, connected_server):
    live, _sandbox = connected_server
    create_user(email="agnes@example.com", name="Agnes Admin", password=PASSWORD, role="admin")
    db.session.commit()
    db.session.remove()
    context = browser.new_context(viewport=DESKTOP, locale="sv-SE", base_url=live.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        sign_in(page, "agnes@example.com")
        page.goto("/settings/integration")
        page.get_by_role("button", name="Anslut till Fortnox").click()
        # Fortnox's consent page (the sandbox's): name the company and approve.
        page.get_by_label("Företagsnamn").fill("Kylteknik i Väst AB")
        page.get_by_label("Organisationsnummer").fill("556123-4567")
        page.get_by_role("button", name="Godkänn").click()
        expect(page.locator("#connection")).to_contain_text("Kylteknik i Väst AB")
        expect(page.locator("#connection")).to_contain_text("556123-4567")
        expect(page.locator(".flash")).to_contain_text("Ansluten till Fortnox")
    finally:
        context.close()
    integration = services.integration_for_subgroup(None)
    assert integration.state == IntegrationState.OK
    assert integration.company_name == "Kylteknik i Väst AB"
