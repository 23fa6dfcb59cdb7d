"""Sending orders to Fortnox in a real browser, on a phone and on a desktop: the office sends
an order from its page and watches "I kö" turn into "Skickad" with the Fortnox document's
number, opens "Visa faktura", and sends three orders at once from the list.

The jobs go through a real RQ queue on Redis (a queue of the test's own: the `sending_server`
fixture, tests/e2e/conftest.py), and the test runs the worker only after the browser has shown
"I kö", so the states are seen one after the other. The Fortnox sandbox runs in-process."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from app.auth.services import create_user
from app.extensions import db
from app.orders.models import FortnoxState, Order, OrderStatus
from app.orders.services import create_order
from tests import factories
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

OFFICE = "kim@example.com"


def seed(server: SendingServer, count: int, **settings: Any) -> list[int]:
    """The office user, the integration connected to the sandbox with ``settings``, and
    ``count`` work orders ready for invoicing (AO 1001, AO 1002…)."""
    office = create_user(email=OFFICE, name="Kim Kontor", password=PASSWORD, role="office")
    connect_to_sandbox(server.sandbox, server.tenant, **settings)
    customer = factories.customer(
        customer_number="7001", name="Verkstads AB i Borås", email="faktura@verkstad.test"
    )
    facility = factories.facility(customer, name="Huvudverkstaden", city="Borås")
    factories.article("1001", name="Oljefilter typ A", unit="st", price=Decimal("250.00"))
    factories.article("T01", name="Arbetstid tekniker", unit="tim", price=Decimal("850.00"))
    ids = []
    for n in range(count):
        order = create_order(
            {
                "kind": "work",
                "customer_id": customer.id,
                "facility_id": facility.id,
                "description": f"Service av kompressor {n + 1}",
                "actions": [{"date": date(2026, 11, 20), "description": "Bytt oljefilter"}],
                "article_rows": [
                    {"article_number": "1001", "quantity": Decimal("1")},
                    {"article_number": "T01", "quantity": Decimal("1.5")},
                ],
            },
            by=office,
        )
        order.status = OrderStatus.READY
        ids.append(order.id)
    db.session.commit()
    db.session.remove()  # no open transaction while the browser and the worker write
    return ids


def fresh(order_id: int) -> Order:
    db.session.remove()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def shot(page: Any, name: str, locator: Any = None, *, full: bool = False) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    if locator is not None:
        locator.screenshot(path=str(ARTIFACTS / name))
    else:
        page.screenshot(path=str(ARTIFACTS / name), full_page=full)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["375", "1280"])
def test_office_sends_from_the_order_page_and_from_the_list(browser, sending_server, viewport):
    server = sending_server
    width = viewport["width"]
    first, *others = seed(server, 4, create_invoice_directly=True)
    with open_page(browser, server.live.url, viewport, timeout=15_000) as page:
        sign_in(page, OFFICE)

        # --- one order, from its page -------------------------------------------------------
        page.goto(f"/orders/{first}")
        section = page.locator("#fortnox")
        expect(page.locator(".order-head .fx")).to_have_text("Fortnox: Ej skickad")
        section.get_by_role("button", name="Skicka till Fortnox").click()

        expect(page.locator(".flash")).to_contain_text("Ordern är skickad till kön för Fortnox.")
        expect(section.locator(".fx")).to_have_text("I kö")
        expect(page.locator(".order-head .fx")).to_have_text("Fortnox: I kö")
        # With JavaScript the page follows the send itself: no "reload" hint, no send button.
        expect(section.locator("[data-fortnox-live]")).to_be_visible()
        expect(section.locator("[data-fortnox-reload]")).to_be_hidden()
        expect(section.get_by_role("button")).to_have_count(0)
        assert fresh(first).fortnox_state == FortnoxState.QUEUED  # nothing ran yet
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"send-queued-{width}.png")

        server.work()

        expect(section.locator(".fx")).to_have_text("Skickad")
        order = fresh(first)
        assert order.fortnox_state == FortnoxState.SENT and order.fortnox_document_number
        number = order.fortnox_document_number
        expect(section).to_contain_text(f"Fortnox-faktura {number}")
        expect(page.locator(".order-head .fx")).to_have_text("Fortnox: Skickad")
        expect(page.locator(".order-head .status")).to_have_text("Skickad")
        expect(section.locator("[data-fortnox-live]")).to_have_count(0)
        link = section.get_by_role("link", name="Visa faktura")
        expect(link).to_be_visible()
        # The sent order is locked now, and the page says so (it was loaded afresh).
        expect(page.locator(".banner-info")).to_contain_text("kan inte ändras")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"send-sent-{width}.png")

        # "Visa faktura" opens the PDF in the tab (served inline; Chromium shows it in its PDF
        # viewer, there is no download): the app's answer is 200 application/pdf.
        pdf_url = f"/orders/{first}/fortnox.pdf"
        with page.expect_response(lambda r: r.url.endswith(pdf_url)) as answer:
            link.click()
        response = answer.value
        assert response.status == 200
        assert response.headers["content-type"] == "application/pdf"
        assert "no-store" in response.headers["cache-control"]
        assert f"faktura-{number}.pdf" in response.headers["content-disposition"]
        page.wait_for_url(f"**{pdf_url}")
        # Playwright hands back the viewer's page as the body; the bytes, with the same
        # session cookie, are the PDF.
        again = page.request.get(pdf_url)
        assert again.status == 200 and again.body().startswith(b"%PDF")
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / f"send-faktura-{width}.pdf").write_bytes(again.body())
        page.go_back()
        expect(section.locator(".fx")).to_have_text("Skickad")

        # --- three orders at once, from the list --------------------------------------------
        page.goto("/orders")
        rows = {}
        for order_id in others:
            shown = fresh(order_id).display_number
            page.get_by_role("checkbox", name=f"Markera {shown}").check()
            rows[order_id] = page.locator("tbody tr").filter(
                has=page.get_by_role("link", name=shown, exact=True)
            )
        page.get_by_role("button", name="Skicka markerade till Fortnox").click()

        expect(page.locator(".flash")).to_contain_text("3 ordrar är skickade till kön för Fortnox.")
        for row in rows.values():
            expect(row.locator(".fx")).to_have_text("I kö")
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"send-list-queued-{width}.png", full=True)
        page.evaluate("window.ordnaNotReloaded = true")

        server.work()

        for row in rows.values():
            expect(row.locator(".fx")).to_have_text("Skickad")
            expect(row.locator(".status")).to_have_text("Skickad")
        assert page.evaluate("window.ordnaNotReloaded") is True  # followed in place
        shot(page, f"send-list-sent-{width}.png", full=True)
        sent = [fresh(order_id) for order_id in others]
        assert {o.fortnox_state for o in sent} == {FortnoxState.SENT}
        numbers = {o.fortnox_document_number for o in sent}
        assert len(numbers) == 3 and number not in numbers  # one document each
        invoices = server.sandbox.accountant(
            "GET", f"tenants/{server.tenant}/api/invoices?limit=500"
        ).json()["Invoices"]
        assert len(invoices) == 4


def test_a_failed_send_shows_its_reason_and_a_retry_in_place(browser, sending_server):
    """A send that fails leaves the order as it was, so the page is not loaded again: the
    section alone shows the reason and "Försök igen"."""
    server = sending_server
    (order_id,) = seed(server, 1, disable_article_creation=True)
    with open_page(browser, server.live.url, PHONE, timeout=15_000) as page:
        sign_in(page, OFFICE)
        page.goto(f"/orders/{order_id}")
        section = page.locator("#fortnox")
        section.get_by_role("button", name="Skicka till Fortnox").click()
        expect(section.locator(".fx")).to_have_text("I kö")
        page.locator("textarea[name=comment]").fill("Skrivet medan ordern skickas")
        page.evaluate("window.ordnaNotReloaded = true")

        server.work()

        expect(section.locator(".fx")).to_have_text("Misslyckades")
        expect(section.get_by_role("alert")).to_contain_text(
            re.compile(r"Artikeln (1001|T01) finns inte i Fortnox")
        )
        expect(section.get_by_role("button", name="Försök igen")).to_be_visible()
        expect(page.locator(".order-head .fx")).to_have_text("Fortnox: Misslyckades")
        assert page.evaluate("window.ordnaNotReloaded") is True
        expect(page.locator("textarea[name=comment]")).to_have_value("Skrivet medan ordern skickas")
        shot(page, "send-failed-375.png", section)
    assert fresh(order_id).fortnox_state == FortnoxState.FAILED
    db.session.remove()
