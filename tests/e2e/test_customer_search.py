"""Choosing a customer on a phone (375×812, issue #13): type part of a name or a number,
pick from the suggestions (a tap, or the arrow keys and Enter), the facility and contact
selects follow, and what is saved has that customer. No page lists the whole register."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from app.customers.models import Customer
from app.customers.services import create_customer, create_facility
from app.extensions import db
from app.orders.models import Order
from tests.e2e.conftest import ARTIFACTS, PHONE, seed_work_order, sign_in

pytestmark = pytest.mark.e2e


def seed_register() -> dict[str, int]:
    """Beside the seed's Verkstads AB i Borås: Lunds Bygg with a facility and a contact, and
    enough other customers that a register in a <select> would show."""
    lund = create_customer(
        {
            "name": "Lunds Bygg AB",
            "customer_number": "3001",
            "city": "Lund",
            "contacts": [{"name": "Lisa Lund", "phone": "046-123456"}],
        }
    )
    db.session.flush()
    lagret = create_facility({"customer_id": lund.id, "name": "Lagret", "city": "Lund"})
    create_customer({"name": "Lunds Elservice AB", "customer_number": "3002", "city": "Lund"})
    db.session.add_all(
        Customer(customer_number=str(40000 + i), name=f"Lundgrens {i:03d} AB", custom_fields={})
        for i in range(150)
    )
    db.session.commit()
    ids = {"lund": lund.id, "lagret": lagret.id, "lisa": lund.contacts[0].id}
    db.session.remove()
    return ids


def customer_box(page: Any) -> Any:
    return page.get_by_role("combobox", name="Kund")


def suggestions(page: Any) -> Any:
    return page.locator(".customer-suggestions li")


def option_texts(page: Any, name: str) -> list[str]:
    return page.locator(f'select[name="{name}"] option').all_inner_texts()


def assert_fits_the_phone(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    box = page.locator(".customer-suggestions").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]


def test_new_order_picks_a_customer_by_search_and_its_facility_and_contact(phone, live_server):
    seed_work_order()
    ids = seed_register()
    page = phone
    sign_in(page, "kim@example.com")
    page.goto("/orders/new")
    assert page.locator("option", has_text="Lundgrens").count() == 0
    expect(page.locator('select[name="facility_id"] option')).to_have_count(1)  # only "—"

    customer_box(page).fill("lunds by")  # parts of the name
    expect(suggestions(page)).to_have_count(1)
    expect(customer_box(page)).to_have_attribute("aria-expanded", "true")
    assert_fits_the_phone(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "customer-search-phone.png"))
    suggestions(page).first.tap()
    expect(customer_box(page)).to_have_value("Lunds Bygg AB (3001, Lund)")
    expect(page.locator('input[name="customer_id"]')).to_have_value(str(ids["lund"]))
    expect(suggestions(page)).to_have_count(0)
    expect(page.locator('select[name="facility_id"] option')).to_have_count(2)
    assert option_texts(page, "facility_id") == ["—", "Lagret"]
    assert option_texts(page, "contact_id") == ["—", "Lisa Lund"]
    page.get_by_label("Anläggning").select_option(label="Lagret")
    page.get_by_label("Kontaktperson").select_option(label="Lisa Lund")
    page.get_by_label("Beskrivning").fill("Porten kärvar")
    page.get_by_role("button", name="Skapa order").click()
    expect(page.locator(".flash")).to_contain_text("skapad")
    expect(customer_box(page)).to_have_value("Lunds Bygg AB (3001, Lund)")

    order = db.session.scalars(db.select(Order).order_by(Order.id.desc())).first()
    assert (order.customer_id, order.facility_id, order.contact_id) == (
        ids["lund"],
        ids["lagret"],
        ids["lisa"],
    )
    assert order.description == "Porten kärvar"


def test_order_page_changes_the_customer_with_the_keyboard(phone, live_server):
    seed = seed_work_order()
    ids = seed_register()
    page = phone
    sign_in(page, "kim@example.com")
    page.goto(f"/orders/{seed.order_id}")
    box = customer_box(page)
    expect(box).to_have_value("Verkstads AB i Borås (2001)")
    assert option_texts(page, "facility_id") == ["—", "Huvudverkstaden"]

    box.fill("lund")
    expect(suggestions(page)).to_have_count(20)  # at most 20 of the 152 that match
    box.fill("lunds")
    expect(suggestions(page)).to_have_count(2)
    # Typing clears the old id: what is saved is only ever a customer picked (or resolved).
    expect(page.locator('input[name="customer_id"]')).to_have_value("")
    box.press("ArrowDown")
    box.press("ArrowDown")
    expect(suggestions(page).nth(1)).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", "customer_query-list-1")
    box.press("ArrowUp")
    expect(suggestions(page).first).to_have_attribute("aria-selected", "true")
    expect(suggestions(page).first).to_contain_text("Lunds Bygg AB")
    box.press("Enter")  # picks; does not submit the order
    expect(box).to_have_value("Lunds Bygg AB (3001, Lund)")
    expect(page.locator('select[name="facility_id"] option')).to_have_text(["—", "Lagret"])
    assert option_texts(page, "contact_id") == ["—", "Lisa Lund"]
    page.locator('select[name="facility_id"]').select_option(str(ids["lagret"]))
    page.get_by_role("button", name="Spara", exact=True).last.click()
    expect(page.locator(".flash")).to_have_text("Ordern är sparad.")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Lunds Bygg AB")

    order = db.session.get(Order, seed.order_id)
    assert (order.customer_id, order.facility_id) == (ids["lund"], ids["lagret"])


def test_the_order_list_filters_by_a_searched_customer(phone, live_server):
    seed_work_order()
    seed_register()
    page = phone
    sign_in(page, "kim@example.com")
    page.goto("/orders")
    page.get_by_text("Fler filter").click()
    customer_box(page).fill("2001")
    suggestions(page).first.tap()
    page.get_by_role("button", name="Sök").click()
    expect(page.locator("table.orders")).to_contain_text("AO 1001")
    expect(customer_box(page)).to_have_value("Verkstads AB i Borås (2001)")
    assert "customer_id=" in page.url
