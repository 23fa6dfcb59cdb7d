"""Integration health in a real browser, on a phone and on a desktop (integration-health.md):
a register fetch Fortnox refuses turns the indicator red and raises the banner, the dialog
explains it; the sandbox revokes the authorisation and the indicator is struck through; the
admin reconnects through the usual connect flow, the next "Hämta" runs with its log lines
live and its counts at the end, and the errors resolve themselves: the indicator is green.

The sync jobs go through a real RQ queue on Redis (the `sending_server` fixture,
tests/e2e/conftest.py), and the test runs the worker only after the page has shown the sync
running, so the running state is seen; the last fetch is slowed by the sandbox and worked in a
thread, so its log lines are seen arriving. Screenshots: tests/artifacts/health-*.png."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.services import create_user
from app.extensions import db
from app.integrations.models import IntegrationError, IntegrationState, SyncRun, SyncRunStatus
from tests.e2e.conftest import (
    ARTIFACTS,
    DESKTOP,
    PASSWORD,
    PHONE,
    SendingServer,
    open_page,
    sign_in,
)
from tests.fortnox_world import connect_to_sandbox

pytestmark = [pytest.mark.e2e, pytest.mark.redis]

ADMIN = "agnes@example.com"
COMPANY = {"CompanyName": "Kylteknik i Väst AB", "OrganizationNumber": "556123-4567"}


def seed(server: SendingServer) -> None:
    """The admin (no first-login fetch, so the test starts every sync itself) and the
    organisation's integration connected to the sandbox tenant."""
    admin = create_user(email=ADMIN, name="Agnes Admin", password=PASSWORD, role="admin")
    admin.fortnox_refresh_on_login = False
    integration = connect_to_sandbox(server.sandbox, server.tenant)
    integration.company_name = COMPANY["CompanyName"]
    integration.organisation_number = COMPANY["OrganizationNumber"]
    integration.tenant_id = str(server.tenant)
    integration.connected_at = datetime.now(UTC)
    integration.state = IntegrationState.OK
    db.session.commit()
    db.session.remove()  # no open transaction while the browser and the worker write


def latest_run() -> SyncRun:
    db.session.remove()
    run = db.session.scalar(select(SyncRun).order_by(SyncRun.id.desc()).limit(1))
    assert run is not None
    return run


def work_in_thread(server: SendingServer) -> threading.Thread:
    """Run the queued jobs in a thread of their own (RQ's signal handlers need the main
    thread, so they are left out), while the test watches the page."""
    from rq import SimpleWorker
    from rq.timeouts import TimerDeathPenalty

    class ThreadWorker(SimpleWorker):
        death_penalty_class = TimerDeathPenalty  # SIGALRM is the main thread's too

        def _install_signal_handlers(self) -> None:
            pass

    app = server.live.app

    def run() -> None:
        with app.app_context():
            try:
                worker = ThreadWorker([server.queue.queue], connection=server.queue.connection)
                worker.work(burst=True)
            finally:
                db.session.remove()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def shot(page: Any, name: str, *, clip_top: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if clip_top:
        page.evaluate("window.scrollTo(0, 0)")
        size = page.viewport_size
        page.screenshot(
            path=str(ARTIFACTS / name),
            clip={"x": 0, "y": 0, "width": size["width"], "height": min(560, size["height"])},
        )
    else:
        page.screenshot(path=str(ARTIFACTS / name))


def indicator(page: Any) -> Any:
    return page.locator("header .health-icon").first


def fetch_button(page: Any, register: str = "Kostnadsställen") -> Any:
    return page.get_by_role("button", name=f"Hämta {register}")


def assert_fits(page: Any, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_an_error_is_seen_explained_fixed_and_resolves_itself(browser, sending_server, viewport):
    server = sending_server
    width = viewport["width"]
    seed(server)
    with open_page(browser, server.live.url, viewport, timeout=15_000) as page:
        sign_in(page, ADMIN)
        page.goto("/settings/integration")
        expect(indicator(page)).to_have_attribute("data-health-state", "ok")
        expect(page.locator(".health-banner")).to_have_count(0)
        indicator(page).click()  # the popover
        expect(page.locator(".health-pop")).to_contain_text("Ansluten, inga problem")
        assert_fits(page, width)
        shot(page, f"health-ok-{width}.png", clip_top=True)
        indicator(page).click()

        # --- a register Fortnox refuses: red dot, banner, dialog ----------------------------
        server.sandbox.add_fault(
            "status",
            method="GET",
            path_pattern="/3/costcenters*",
            status=403,
            code=2003275,
            message="Användaren saknar behörighet för kostnadsställen.",
            count=1,
        )
        fetch_button(page).click()
        expect(indicator(page)).to_have_attribute("data-health-state", "syncing")
        expect(page.locator("[data-sync-run-url]")).to_be_visible()
        expect(page.locator("[data-sync-now]")).to_have_count(0)  # never a second sync
        expect(fetch_button(page)).to_have_count(0)  # the rows' buttons are disabled
        assert latest_run().status == SyncRunStatus.RUNNING  # nothing ran yet
        indicator(page).click()
        expect(page.locator(".health-pop")).to_contain_text("Synkning pågår")
        assert_fits(page, width)
        shot(page, f"health-syncing-{width}.png", clip_top=True)
        indicator(page).click()

        server.work()

        # The page followed the run and loaded itself again when it had ended.
        expect(indicator(page)).to_have_attribute("data-health-state", "error")
        banner = page.locator(".health-banner")
        expect(banner).to_have_count(1)
        expect(banner).to_contain_text("Klicka här för att veta mer")
        expect(page.locator("#register-cost_centers .result-failed")).to_be_visible()
        indicator(page).click()
        expect(page.locator(".health-pop")).to_contain_text("Klicka här för att veta mer")
        assert_fits(page, width)
        shot(page, f"health-error-{width}.png", clip_top=True)
        indicator(page).click()

        banner.get_by_role("link", name="Klicka här för att veta mer").click()
        dialog = page.locator("dialog#error-dialog")
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("Registret Kostnadsställen kunde inte hämtas")
        expect(dialog).to_contain_text("Användaren saknar behörighet för kostnadsställen.")
        expect(dialog).to_contain_text("felkod 2003275")
        expect(dialog.get_by_role("button", name="Hämta")).to_be_visible()
        expect(dialog.get_by_role("button", name="Anslut igen")).to_be_visible()
        expect(dialog.get_by_role("button", name="Åtgärdat")).to_be_visible()
        assert_fits(page, width)
        shot(page, f"health-dialog-{width}.png")
        dialog.get_by_role("button", name="Stäng").click()
        expect(dialog).to_be_hidden()

        # --- the authorisation is revoked: struck through -----------------------------------
        server.sandbox.revoke(server.tenant)
        fetch_button(page).click()
        expect(indicator(page)).to_have_attribute("data-health-state", "syncing")
        server.work()
        expect(indicator(page)).to_have_attribute("data-health-state", "revoked")
        expect(page.locator(".health-banner")).to_have_count(2)
        assert_fits(page, width)
        shot(page, f"health-revoked-{width}.png", clip_top=True)

        # --- the dialog explains; "Anslut igen" reconnects ----------------------------------
        token_error = db.session.scalar(
            select(IntegrationError).where(IntegrationError.operation == "token")
        )
        db.session.remove()
        page.locator(f'[data-health-banner="{token_error.id}"] a').click()
        expect(dialog).to_be_visible()
        expect(dialog).to_contain_text("förrän integrationen är ansluten igen")
        server.sandbox.set_auto_approve(True, COMPANY)
        dialog.get_by_role("button", name="Anslut igen").click()
        expect(page.locator(".flash")).to_contain_text("Ansluten till Fortnox")
        # The authorisation is back; the refused register is still red until fetched.
        expect(indicator(page)).to_have_attribute("data-health-state", "error")
        expect(page.locator(".health-banner")).to_have_count(1)

        # --- the next "Hämta" runs live and resolves the error by itself --------------------
        server.sandbox.add_fault(
            "latency", method="GET", path_pattern="/3/costcenters*", latency_ms=2500, count=1
        )
        fetch_button(page).click()
        progress = page.locator("[data-sync-run-url]")
        expect(progress).to_be_visible()
        expect(page.locator("[data-sync-now]")).to_have_count(0)
        page.evaluate("window.ordnaNotReloaded = true")
        worker = work_in_thread(server)
        # A log line arrives while the run is still going (the page was not loaded again).
        expect(progress.locator("[data-sync-log]")).to_contain_text("Hämtar kostnadsställen…")
        assert page.evaluate("window.ordnaNotReloaded") is True
        assert_fits(page, width)
        shot(page, f"health-progress-{width}.png")
        worker.join(timeout=60)
        assert not worker.is_alive()

        expect(page.locator(".sync-summary")).to_contain_text("Hämtade 3 kostnadsställen på")
        counts = page.locator("[data-sync-counts]")
        expect(counts).to_be_visible()
        expect(counts.locator("tbody tr")).to_have_count(1)
        expect(counts).to_contain_text("Kostnadsställen")
        expect(page.locator("[data-sync-now]")).to_be_visible()  # offered again
        expect(indicator(page)).to_have_attribute("data-health-state", "ok")
        expect(page.locator(".health-banner")).to_have_count(0)
        expect(page.locator("#register-cost_centers .result-ok")).to_be_visible()
        assert_fits(page, width)
        shot(page, f"health-done-{width}.png", clip_top=False)

        sync_error = db.session.scalar(
            select(IntegrationError).where(IntegrationError.operation == "sync:cost_centers")
        )
        assert sync_error.resolution == "auto" and sync_error.resolved_by_id is None
        db.session.remove()
        page.goto(f"/integration/errors/{sync_error.id}")
        expect(page.locator("[data-resolved]")).to_contain_text("Problemet är åtgärdat")
