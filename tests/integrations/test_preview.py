"""The Fortnox preview of an order: API and order page, exactly what the settings would send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.tokens import Tokens, encrypt_tokens
from app.orders.services import create_order
from fortnox_sandbox.schema import validate_request
from tests import factories


def connect_without_fortnox(subgroup_id=None, **settings):
    """A connected integration (tokens stored) for tests that never call Fortnox."""
    integration = services.get_or_create_integration(subgroup_id)
    tokens = Tokens("access", "refresh", datetime.now(UTC) + timedelta(hours=1), "order")
    integration.encrypted_tokens = encrypt_tokens(tokens, services.token_key())
    if settings:
        services.update_settings(integration, settings)
    db.session.commit()
    return integration


@pytest.fixture
def order(make_user):
    tech = make_user("technician", name="Tove Tekniker")
    customer = factories.customer(customer_number="2001", name="Verkstad AB")
    facility = factories.facility(customer, name="Lagret", address1="Hamngatan 1", city="Borås")
    factories.article("1001", name="Oljefilter", price=Decimal("250"))
    factories.article("T01", name="Arbetstid", unit="tim", price=Decimal("850"))
    made = create_order(
        {
            "kind": "work",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "description": "Kompressorn löser ut",
            "actions": [{"date": datetime(2026, 11, 20).date(), "description": "Bytt tryckvakt"}],
            "article_rows": [
                {"article_number": "1001", "quantity": Decimal("2")},
                {"article_number": "T01", "quantity": Decimal("1.5")},
            ],
        },
        by=tech,
    )
    db.session.commit()
    return made


def test_api_preview_returns_the_exact_payload_valid_against_fortnox_schema(api, order):
    connect_without_fortnox()
    response = api("office").get(f"/orders/{order.id}/fortnox-preview")
    assert response.status_code == 200, response.json
    body = response.json
    assert body["document_type"] == "Order" and body["errors"] == []
    document = body["payload"]["Order"]
    assert document["CustomerNumber"] == "2001"
    assert document["OurReference"] == "AO 1001"
    assert document["DeliveryName"] == "Lagret"
    assert document["ExternalInvoiceReference1"] == body["reference"]
    articles = [r["ArticleNumber"] for r in document["OrderRows"] if "ArticleNumber" in r]
    assert articles == ["1001", "T01"]
    assert validate_request("POST", "/3/orders", body["payload"]) == []
    # The reference is the one the order shows.
    assert (
        api("office").get(f"/orders/{order.id}").json["fortnox"]["reference"] == body["reference"]
    )


def test_preview_follows_the_settings(api, order):
    connect_without_fortnox(create_invoice_directly=True, set_prices_on_rows=True)
    body = api("admin").get(f"/orders/{order.id}/fortnox-preview").json
    assert body["document_type"] == "Invoice"
    prices = [
        r.get("Price") for r in body["payload"]["Invoice"]["InvoiceRows"] if "ArticleNumber" in r
    ]
    assert prices == [250, 850]
    assert validate_request("POST", "/3/invoices", body["payload"]) == []


def test_preview_lists_blocking_errors(api, order):
    connect_without_fortnox(cost_center="NOPE")
    integration = services.integration_for_subgroup(None)
    from app.integrations.models import RegisterItem, SyncCursor

    db.session.add(
        RegisterItem(integration_id=integration.id, register="cost_centers", code="SERV")
    )
    db.session.add(
        SyncCursor(
            integration_id=integration.id, register="cost_centers", synced_at=datetime.now(UTC)
        )
    )
    db.session.commit()
    body = api("admin").get(f"/orders/{order.id}/fortnox-preview").json
    assert body["errors"] and "NOPE" in body["errors"][0]


def test_preview_is_409_without_a_connected_integration(api, order):
    response = api("admin").get(f"/orders/{order.id}/fortnox-preview")
    assert response.status_code == 409
    assert "Anslut Fortnox" in response.json["error"]["message"]


def test_the_subgroups_own_integration_handles_its_orders(api, order):
    from app.auth.models import Subgroup

    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.commit()
    order.subgroup_id = west.id
    db.session.commit()
    connect_without_fortnox()  # organisation-wide: plain order
    connect_without_fortnox(west.id, create_invoice_directly=True)
    body = api("admin").get(f"/orders/{order.id}/fortnox-preview").json
    assert body["document_type"] == "Invoice"


def test_order_page_preview_shows_rows_as_they_print_and_the_raw_json(client, login, order):
    connect_without_fortnox(include_description_and_cause=True)
    login("office")
    response = client.get(f"/orders/{order.id}/fortnox-preview")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Beskrivning: Kompressorn löser ut" in html  # a text row
    assert "Oljefilter" in html and "Arbetstid" in html
    assert "Rå JSON" in html and "&#34;CustomerNumber&#34;: &#34;2001&#34;" in html


def test_technician_of_another_subgroup_cannot_preview(client, login, order):
    from app.auth.models import Subgroup

    south = Subgroup(name="Syd")
    db.session.add(south)
    db.session.commit()
    connect_without_fortnox()
    login("technician", subgroup=south)
    assert client.get(f"/orders/{order.id}/fortnox-preview").status_code == 403
