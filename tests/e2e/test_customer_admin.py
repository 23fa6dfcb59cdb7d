"""An admin defines the custom field "Er referens" for customers, then creates a customer
with a contact person, that field filled in, and a facility with a machine — on a phone."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from app.auth.services import create_user
from app.customers.models import Customer
from app.extensions import db
from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.e2e


def test_admin_creates_a_customer_with_a_facility_and_a_custom_field(phone, live_server):
    create_user(email="agnes@example.com", name="Agnes Admin", password=PASSWORD, role="admin")
    db.session.commit()
    db.session.remove()
    page = phone
    sign_in(page, "agnes@example.com")

    page.get_by_role("link", name="Anpassade fält").click()
    page.get_by_label("Gäller").select_option(label="Kund")
    page.get_by_label("Fältets namn").fill("Er referens")
    page.get_by_role("button", name="Lägg till fält").click()
    expect(page.locator(".flash")).to_contain_text("Er referens")

    page.get_by_role("link", name="Kunder").click()
    page.get_by_role("link", name="+ Ny kund").click()
    page.get_by_label("Namn", exact=True).fill("Åkeri Öst AB")
    page.get_by_label("Ort").fill("Växjö")
    page.get_by_label("Er referens").fill("Inköp Svensson")
    page.get_by_role("button", name="+ Lägg till kontaktperson").click()
    contact = page.locator('[data-rows="contacts"] [data-row]').first
    contact.locator('[name$="-name"]').fill("Anna Ek")
    contact.locator('[name$="-phone"]').fill("070-123 45 67")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator(".flash")).to_contain_text("Åkeri Öst AB")
    expect(page.locator("dl.fields")).to_contain_text("Inköp Svensson")

    page.get_by_role("link", name="+ Ny anläggning").click()
    page.get_by_label("Namn").fill("Verkstaden Växjö")
    page.get_by_label("Adress", exact=True).fill("Norra Järnvägsgatan 4")
    page.get_by_label("Ort").fill("Växjö")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator(".facility h3")).to_have_text("Verkstaden Växjö")

    page.get_by_role("link", name="+ Nytt serviceobjekt").click()
    page.get_by_label("Namn").fill("KAESER SK 25")
    page.get_by_label("Drifttid (timmar)").fill("1 500")
    page.get_by_role("button", name="Spara").click()
    expect(page.locator(".facility")).to_contain_text("KAESER SK 25")

    customer = db.session.scalars(select(Customer)).one()
    assert (customer.name, customer.city, customer.custom_fields) == (
        "Åkeri Öst AB",
        "Växjö",
        {"Er referens": "Inköp Svensson"},
    )
    assert [(c.name, c.phone) for c in customer.contacts] == [("Anna Ek", "070-123 45 67")]
    (facility,) = customer.facilities
    assert (facility.name, facility.address1, facility.city) == (
        "Verkstaden Växjö",
        "Norra Järnvägsgatan 4",
        "Växjö",
    )
    assert [(s.name, s.operating_hours) for s in facility.service_objects] == [
        ("KAESER SK 25", Decimal("1500"))
    ]
