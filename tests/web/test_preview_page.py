""" "Förhandsgranska i Fortnox-format" on the order page speaks Swedish: labels with the
Fortnox field name small beside them, amounts in Swedish number format, a way back to the
order, the menu on "Ordrar", and the raw JSON folded away."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from app.extensions import db
from app.orders.services import create_order
from tests import factories
from tests.integrations.test_preview import connect_without_fortnox


@pytest.fixture
def order(make_user):  # type: ignore[no-untyped-def]
    tech = make_user("technician", name="Tove Tekniker")
    customer = factories.customer(customer_number="2001", name="Verkstad AB")
    facility = factories.facility(customer, name="Lagret", address1="Hamngatan 1", city="Borås")
    factories.article("1001", name="Oljefilter", price=Decimal("250"))
    factories.article("K9", name="Kompressorhuvud", price=Decimal("12345.5"))
    made = create_order(
        {
            "kind": "work",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "customer_order_number": "PO-77",
            "article_rows": [
                {"article_number": "1001", "quantity": Decimal("2")},
                {"article_number": "K9", "quantity": Decimal("1.5")},
            ],
        },
        by=tech,
    )
    db.session.commit()
    return made


def main_menu(html: str) -> str:
    return re.search(r'<nav class="mainnav".*?</nav>', html, re.S).group(0)  # type: ignore[union-attr]


def test_labels_are_swedish_with_the_fortnox_name_beside_them(client, login, order):
    connect_without_fortnox(set_prices_on_rows=True)
    login("admin")
    response = client.get(f"/orders/{order.id}/fortnox-preview")
    html = response.get_data(as_text=True).replace("<wbr>", "")
    assert response.status_code == 200
    for label, name in [
        ("Kundnummer", "CustomerNumber"),
        ("Vår referens", "OurReference"),
        ("Ert ordernummer", "YourOrderNumber"),
        ("Leveransnamn", "DeliveryName"),
        ("Leveransadress", "DeliveryAddress1"),
        ("Leveransort", "DeliveryCity"),
    ]:
        assert re.search(
            rf"<dt>{label} <small class=\"field-name muted\">{name}</small></dt>", html
        ), label
    assert "<dt>CustomerNumber</dt>" not in html


def test_amounts_and_quantities_are_in_swedish_number_format(client, login, order):
    connect_without_fortnox(set_prices_on_rows=True)
    login("office")
    html = client.get(f"/orders/{order.id}/fortnox-preview").get_data(as_text=True)
    assert "250,00" in html
    assert "12\xa0345,50" in html  # thousands separated as on the rest of the site
    assert "1,5" in html  # a quantity with a decimal comma
    main = html.split("<main", 1)[1]
    assert "12345.5" not in main.split("<details")[0]  # the raw form only in the folded JSON


def test_the_page_leads_back_to_the_order_and_the_menu_is_on_orders(client, login, order):
    connect_without_fortnox()
    login("admin")
    html = client.get(f"/orders/{order.id}/fortnox-preview").get_data(as_text=True)
    assert f'href="/orders/{order.id}"' in html
    assert "Tillbaka till AO 1001" in html
    menu = main_menu(html)
    assert re.search(r'href="/orders"\s+aria-current="page"', menu)
    assert menu.count("aria-current") == 1  # not "Inställningar"


def test_the_raw_json_stays_folded_away(client, login, order):
    connect_without_fortnox()
    login("office")
    html = client.get(f"/orders/{order.id}/fortnox-preview").get_data(as_text=True)
    main = html.split("<main", 1)[1]  # the page itself, not the top bar's popovers
    details = re.search(r"<details[^>]*>.*?</details>", main, re.S)
    assert details and "&#34;CustomerNumber&#34;: &#34;2001&#34;" in details.group(0)
    assert "<details open" not in main
