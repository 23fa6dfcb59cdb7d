"""A technician fills a work order on a phone (375×812): two actions, three article rows,
an operating-hours reading, the customer's signature, and "ready" — then the database holds
exactly that. A negative quantity is explained without losing the other rows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.orders.models import Order, OrderStatus
from tests.e2e.conftest import ARTIFACTS, DESKTOP, seed_work_order, sign_in

pytestmark = pytest.mark.e2e


def rows(page: Any, name: str) -> Any:
    return page.locator(f'[data-rows="{name}"] [data-row]')


def add_row(page: Any, name: str, button: str) -> Any:
    before = rows(page, name).count()
    page.get_by_role("button", name=button).click()
    expect(rows(page, name)).to_have_count(before + 1)
    return rows(page, name).nth(before)


def pick_article(page: Any, row: Any, typed: str, suggestion: str) -> None:
    """Type part of a number or name and tap the suggestion."""
    row.locator("[data-article]").fill(typed)
    row.locator(".suggestions li", has_text=suggestion).click()
    expect(row.locator(".autocomplete .hint")).to_have_text(suggestion)


def field(row: Any, name: str) -> Any:
    return row.locator(f'[name$="-{name}"]')


def test_technician_fills_signs_and_readies_a_work_order_on_a_phone(phone, live_server):
    seed = seed_work_order()
    today = datetime.now(ZoneInfo("Europe/Stockholm")).date()
    page = phone

    sign_in(page, "tove@example.com")
    page.get_by_role("link", name="Mina ordrar").click()
    page.get_by_role("link", name="AO 1001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("AO 1001")
    # A marker on the window: it survives only if adding rows never reloads the page.
    page.evaluate("window.__sameDocument = true")

    first = add_row(page, "actions", "+ Lägg till åtgärd")
    expect(field(first, "date")).to_have_value(today.isoformat())
    expect(field(first, "technician_id")).to_have_value(str(seed.technician_id))
    field(first, "description").fill("Bytt tryckvakt och provkört")
    field(first, "hours").fill("1,5")
    second = add_row(page, "actions", "+ Lägg till åtgärd")
    field(second, "description").fill("Rengjort kylare")
    field(second, "hours").fill("0,5")

    oil = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, oil, "1001", "Oljefilter typ A")
    expect(field(oil, "price")).to_have_value("250,00")
    expect(field(oil, "unit")).to_have_value("st")
    field(oil, "quantity").fill("2")
    air = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, air, "luftfil", "Luftfilter typ B")  # part of the name
    expect(field(air, "quantity")).to_have_value("1")
    labour = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, labour, "T01", "Arbetstid tekniker")
    field(labour, "quantity").fill("1,5")
    field(labour, "service_object_id").select_option(str(seed.compressor_id))
    expect(page.locator("[data-total]")).to_have_text("1 870,50")

    reading = add_row(page, "service_objects", "+ Lägg till serviceobjekt")
    field(reading, "service_object_id").select_option(str(seed.compressor_id))
    field(reading, "operating_hours").fill("12345,5")
    assert page.evaluate("window.__sameDocument") is True

    page.get_by_role("button", name="Spara", exact=True).last.click()
    expect(page.locator(".flash")).to_have_text("Ordern är sparad.")
    expect(rows(page, "article_rows")).to_have_count(3)

    # "Signera" opens the signing panel; its own "Signera" signs.
    expect(page.get_by_label("Kundens namn")).to_be_hidden()
    page.get_by_role("button", name="Signera").click()
    page.get_by_label("Kundens namn").fill("Kalle Kund")
    page.get_by_role("button", name="Signera").click()
    expect(page.locator(".flash")).to_have_text("Ordern är signerad.")
    expect(page.locator(".signed")).to_contain_text("Kalle Kund")

    page.get_by_role("button", name="Klar för fakturering").click()
    expect(page.locator(".flash")).to_contain_text("Klar för fakturering")
    expect(page.locator(".badges")).to_contain_text("Signerad")

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "order-phone.png"), full_page=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(ARTIFACTS / "order-desktop.png"), full_page=True)

    order = db.session.get(Order, seed.order_id)
    assert order.status == OrderStatus.READY
    assert (order.signed_by_id, order.signed_customer_name) == (seed.technician_id, "Kalle Kund")
    assert order.signed_at is not None
    assert [(a.date, a.description, a.hours, a.technician_id) for a in order.actions] == [
        (today, "Bytt tryckvakt och provkört", Decimal("1.5"), seed.technician_id),
        (today, "Rengjort kylare", Decimal("0.5"), seed.technician_id),
    ]
    assert [
        (
            r.article.article_number,
            r.quantity,
            r.price,
            r.unit,
            r.date,
            r.technician_id,
            r.service_object_id,
            r.cost_center,
        )
        for r in order.article_rows
    ] == [
        ("1001", Decimal("2"), Decimal("250.00"), "st", today, seed.technician_id, None, "SERV"),
        ("1002", Decimal("1"), Decimal("95.50"), "st", today, seed.technician_id, None, "SERV"),
        (
            "T01",
            Decimal("1.5"),
            Decimal("850.00"),
            "tim",
            today,
            seed.technician_id,
            seed.compressor_id,
            "SERV",
        ),
    ]
    assert [(s.service_object_id, s.operating_hours) for s in order.service_objects] == [
        (seed.compressor_id, Decimal("12345.5"))
    ]


def test_negative_quantity_is_explained_without_losing_the_other_rows(phone, live_server):
    seed = seed_work_order()
    page = phone
    sign_in(page, "tove@example.com")
    page.goto(f"/orders/{seed.order_id}")

    action = add_row(page, "actions", "+ Lägg till åtgärd")
    field(action, "description").fill("Bytt kilrem")
    first = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, first, "kilrem", "Kilrem XPZ 1000")
    second = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, second, "1001", "Oljefilter typ A")
    field(second, "quantity").fill("-2")
    third = add_row(page, "article_rows", "+ Lägg till artikelrad")
    pick_article(page, third, "T01", "Arbetstid tekniker")
    field(third, "quantity").fill("0,75")
    field(third, "description").fill("Jourtillägg")
    page.get_by_role("button", name="Spara", exact=True).last.click()

    expect(page.locator("#form-errors")).to_be_visible()
    error = rows(page, "article_rows").nth(1).locator(".error")
    expect(error).to_have_text("Antalet kan inte vara negativt.")
    expect(field(rows(page, "article_rows").nth(1), "quantity")).to_have_attribute(
        "aria-invalid", "true"
    )
    # Everything else typed is still on the page.
    kept = rows(page, "article_rows")
    expect(kept).to_have_count(3)
    expect(field(kept.nth(0), "article_number")).to_have_value("1003")
    expect(field(kept.nth(1), "quantity")).to_have_value("-2")
    expect(field(kept.nth(2), "quantity")).to_have_value("0,75")
    expect(field(kept.nth(2), "description")).to_have_value("Jourtillägg")
    expect(field(rows(page, "actions").nth(0), "description")).to_have_value("Bytt kilrem")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "order-phone-error.png"))
    assert db.session.get(Order, seed.order_id).article_rows == []
    db.session.remove()

    field(kept.nth(1), "quantity").fill("2")
    page.get_by_role("button", name="Spara", exact=True).last.click()
    expect(page.locator(".flash")).to_have_text("Ordern är sparad.")
    order = db.session.get(Order, seed.order_id)
    assert [(r.article.article_number, r.quantity) for r in order.article_rows] == [
        ("1003", Decimal("1")),
        ("1001", Decimal("2")),
        ("T01", Decimal("0.75")),
    ]
    assert [a.description for a in order.actions] == ["Bytt kilrem"]
