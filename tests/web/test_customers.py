"""Customer pages: the register, a customer with contacts, tags and custom fields, facilities
and service objects, deleting, and the options the order page asks for."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from app.customers.models import Customer, Facility, ServiceObject
from app.extensions import db
from tests import factories
from tests.web.conftest import field_value, make_field


def custom_field_name(html: str) -> str:
    """The form name of the first custom field on a page (`custom_fields-cf_<id>`)."""
    return "custom_fields-" + html.split('name="custom_fields-')[1].split('"')[0]


def test_customer_register_searches_by_name_and_number(client, login):
    factories.customer(name="Bygg AB", customer_number="3001")
    factories.customer(name="Kyl & Värme HB", customer_number="3002")
    login("technician")
    html = client.get("/customers?q=kyl").get_data(as_text=True)
    assert "Kyl &amp; Värme HB" in html and "Bygg AB" not in html
    assert "Bygg AB" in client.get("/customers?q=3001").get_data(as_text=True)


def test_inactive_customers_are_listed_on_request(client, login):
    factories.customer(name="Gamla Firman AB", active=False)
    login("office")
    assert "Gamla Firman AB" not in client.get("/customers").get_data(as_text=True)
    assert "Gamla Firman AB" in client.get("/customers?inactive=1").get_data(as_text=True)


def test_technician_creates_a_customer_with_contacts_tags_and_a_custom_field(client, login):
    make_field("customer", "Er referens")
    login("technician")
    page = client.get("/customers/new").get_data(as_text=True)
    reference = custom_field_name(page)
    response = client.post(
        "/customers/new",
        data={
            "name": "Åkeri Öst AB",
            "customer_number": "",
            "city": "Växjö",
            "tags": "Avtalskund, Jour, Avtalskund",
            "active": "y",
            "subgroup_id": "",
            reference: "Inköp Svensson",
            "contacts-0-name": "Anna Ek",
            "contacts-0-phone": "070-123 45 67",
            "contacts-0-email": "anna@akeri.se",
            "contacts-3-name": "Bo Ek",
        },
    )
    assert response.status_code == 302
    customer = db.session.scalars(select(Customer)).one()
    assert (customer.name, customer.city, customer.customer_number) == (
        "Åkeri Öst AB",
        "Växjö",
        "1001",
    )
    assert [t.name for t in customer.tags] == ["Avtalskund", "Jour"]
    assert customer.custom_fields == {"Er referens": "Inköp Svensson"}
    assert [(c.name, c.phone) for c in customer.contacts] == [
        ("Anna Ek", "070-123 45 67"),
        ("Bo Ek", None),
    ]
    detail = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Inköp Svensson" in detail and "Anna Ek" in detail and "Jour" in detail


def test_customer_form_keeps_everything_on_a_validation_error(client, login):
    login("office")
    response = client.post(
        "/customers/new",
        data={
            "name": "",
            "city": "Lund",
            "email": "inte-en-adress",
            "contacts-0-name": "",
            "contacts-0-phone": "0701",
            "contacts-1-name": "Eva Berg",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="name-error">Fyll i kundens namn.' in html
    assert 'id="email-error">Ange en giltig e-postadress.' in html
    assert 'id="contacts-0-name-error">Fyll i namnet.' in html
    assert field_value(html, "city") == "Lund"
    assert field_value(html, "contacts-0-phone") == "0701"
    assert field_value(html, "contacts-1-name") == "Eva Berg"


def test_duplicate_customer_number_is_shown_next_to_the_field(client, login):
    factories.customer(name="Först AB", customer_number="5000")
    login("office")
    response = client.post("/customers/new", data={"name": "Sen AB", "customer_number": "5000"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="customer_number-error">Det finns redan en kund med det kundnumret.' in html
    assert field_value(html, "name") == "Sen AB"


def test_editing_a_customer_updates_contacts_in_place(client, login):
    customer = factories.customer(
        name="Verkstads AB", contacts=[{"name": "Anna Ek"}, {"name": "Bo Ek"}]
    )
    anna, bo = customer.contacts
    login("office")
    page = client.get(f"/customers/{customer.id}/edit").get_data(as_text=True)
    assert field_value(page, "contacts-0-name") == "Anna Ek"
    response = client.post(
        f"/customers/{customer.id}/edit",
        data={
            "customer_number": customer.customer_number,
            "name": "Verkstads AB",
            "active": "y",
            "contacts-0-id": str(anna.id),
            "contacts-0-name": "Anna Ek-Berg",
            "version": str(customer.version),
        },
    )
    assert response.status_code == 302
    db.session.refresh(customer)
    assert [(c.id, c.name) for c in customer.contacts] == [(anna.id, "Anna Ek-Berg")]
    assert db.session.get(type(bo), bo.id) is None


def test_editing_requires_a_customer_number(client, login):
    customer = factories.customer(name="Verkstads AB")
    login("office")
    response = client.post(
        f"/customers/{customer.id}/edit",
        data={"customer_number": "", "name": "Verkstads AB", "version": str(customer.version)},
    )
    assert response.status_code == 422
    assert 'id="customer_number-error">Obligatoriskt fält.' in response.get_data(as_text=True)


def test_customer_page_shows_facilities_and_their_service_objects(client, login):
    customer = factories.customer(name="Verkstads AB")
    facility = factories.facility(customer, name="Lagret", city="Borås")
    factories.service_object(facility, name="KAESER SK 25", operating_hours=Decimal("1234.5"))
    login("technician")
    html = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert "Lagret" in html and "KAESER SK 25" in html and "1\xa0234,5 h" in html


def test_facility_with_a_custom_field_is_created_and_edited(client, login):
    customer = factories.customer(name="Verkstads AB")
    make_field("facility", "Portkod")
    login("technician")
    page = client.get(f"/customers/{customer.id}/facilities/new").get_data(as_text=True)
    code = custom_field_name(page)
    response = client.post(
        f"/customers/{customer.id}/facilities/new",
        data={"name": "Verkstaden", "city": "Alingsås", code: "1234#"},
    )
    assert response.status_code == 302
    facility = db.session.scalars(select(Facility)).one()
    assert (facility.customer_id, facility.custom_fields) == (customer.id, {"Portkod": "1234#"})
    edit = client.get(f"/facilities/{facility.id}/edit").get_data(as_text=True)
    assert field_value(edit, code) == "1234#" and field_value(edit, "city") == "Alingsås"
    client.post(f"/facilities/{facility.id}/edit", data={"name": "Nya verkstaden", code: ""})
    db.session.refresh(facility)
    assert (facility.name, facility.custom_fields) == ("Nya verkstaden", {})


def test_facility_needs_a_name(client, login):
    customer = factories.customer(name="Verkstads AB")
    login("office")
    response = client.post(
        f"/customers/{customer.id}/facilities/new", data={"name": "", "city": "Mölndal"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Fyll i anläggningens namn." in html
    assert field_value(html, "city") == "Mölndal"


def test_service_object_is_added_to_a_facility(client, login):
    facility = factories.facility(factories.customer(name="Verkstads AB"))
    login("technician")
    response = client.post(
        f"/facilities/{facility.id}/service-objects/new",
        data={"name": "Linde E20", "machine_number": "T7", "operating_hours": "1 200,5"},
    )
    assert response.status_code == 302
    machine = db.session.scalars(select(ServiceObject)).one()
    assert (machine.name, machine.operating_hours) == ("Linde E20", Decimal("1200.5"))
    client.post(
        f"/service-objects/{machine.id}/edit",
        data={"name": "Linde E20", "operating_hours": "1300", "comment": "Ny batterikabel"},
    )
    db.session.refresh(machine)
    assert (machine.operating_hours, machine.comment) == (Decimal("1300"), "Ny batterikabel")


def test_negative_operating_hours_are_refused_with_a_message(client, login):
    facility = factories.facility(factories.customer(name="Verkstads AB"))
    login("technician")
    response = client.post(
        f"/facilities/{facility.id}/service-objects/new",
        data={"name": "Linde E20", "operating_hours": "-5"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="operating_hours-error">Ange ett tal som inte är negativt.' in html
    assert field_value(html, "name") == "Linde E20"


def test_only_admin_and_office_delete_customers(client, login):
    customer = factories.customer(name="Borttas AB")
    login("technician")
    assert client.post(f"/customers/{customer.id}/delete").status_code == 403
    client.post("/logout")
    login("office")
    assert client.post(f"/customers/{customer.id}/delete").status_code == 302
    assert db.session.get(Customer, customer.id) is None


def test_a_customer_with_orders_is_not_deleted(client, login, world):
    login("admin")
    response = client.post(f"/customers/{world.customer.id}/delete", follow_redirects=True)
    assert "Kunden har ordrar och kan inte tas bort" in response.get_data(as_text=True)
    assert db.session.get(Customer, world.customer.id) is not None


def test_options_list_a_customers_facilities_contacts_and_machines(client, login, world):
    login("technician")
    data = client.get(f"/customers/{world.customer.id}/options").get_json()
    assert data["facilities"] == [{"id": world.facility.id, "name": "Huvudverkstaden"}]
    assert [m["id"] for m in data["service_objects"]] == [world.compressor.id, world.truck.id]
    assert data["service_objects"][0]["name"] == "ATLAS COPCO GA 10 (K1)"


def test_customer_pages_require_sign_in(client):
    assert "/login" in client.get("/customers").headers["Location"]
