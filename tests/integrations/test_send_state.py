"""The Fortnox state as JSON, which the order page and the order list follow while a send is
"I kö" or "Skickas": what it says, who may ask, and the hooks the pages carry for it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.auth.models import Subgroup
from app.extensions import db
from app.orders.models import FortnoxState, Order, OrderStatus
from app.orders.services import create_order
from tests import factories


@pytest.fixture
def app_config(sandbox_config):
    """The app talks to the module's sandbox (tests/integrations/conftest.py)."""
    return sandbox_config


@pytest.fixture
def west(app):
    subgroup = Subgroup(name="Väst")
    db.session.add(subgroup)
    db.session.commit()
    return subgroup


@pytest.fixture
def order_in(make_user):
    """order_in(subgroup, customer_number) → a ready work order of that subgroup."""

    def make(subgroup=None, customer_number="7301"):
        office = make_user("office")
        customer = factories.customer(
            customer_number=customer_number, name=f"Verkstad {customer_number} AB"
        )
        facility = factories.facility(customer, name="Lagret")
        factories.article(f"A{customer_number}", name="Oljefilter", price=Decimal("250"))
        order = create_order(
            {
                "kind": "work",
                "customer_id": customer.id,
                "facility_id": facility.id,
                "subgroup_id": subgroup.id if subgroup else None,
                "article_rows": [
                    {"article_number": f"A{customer_number}", "quantity": Decimal("2")}
                ],
            },
            by=office,
        )
        order.status = OrderStatus.READY
        db.session.commit()
        return order

    return make


def set_state(order: Order, state: FortnoxState) -> None:
    order.fortnox_state = state
    db.session.commit()


def test_the_state_of_an_order_not_sent_yet(client, login, order_in):
    order = order_in()
    login("office")
    response = client.get(f"/orders/{order.id}/fortnox-state")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.json == {
        "id": order.id,
        "state": "not_sent",
        "label": "Ej skickad",
        "in_progress": False,
        "status": "ready",
        "status_label": "Klar för fakturering",
        "document_type": None,
        "document_number": None,
        "invoice_number": None,
        "last_error": None,
        "pdf_url": None,
    }


def test_queued_then_sent_with_the_fortnox_document(client, login, connect, order_in):
    connect(create_invoice_directly=True)
    order = order_in()
    set_state(order, FortnoxState.QUEUED)
    login("office")
    queued = client.get(f"/orders/{order.id}/fortnox-state").json
    assert queued["state"] == "queued" and queued["label"] == "I kö" and queued["in_progress"]

    set_state(order, FortnoxState.NOT_SENT)
    assert client.post(f"/orders/{order.id}/send").status_code == 302  # jobs run inline here
    sent = client.get(f"/orders/{order.id}/fortnox-state").json
    assert sent["state"] == "sent" and sent["label"] == "Skickad" and not sent["in_progress"]
    assert sent["status"] == "sent" and sent["status_label"] == "Skickad"
    assert sent["document_type"] == "Invoice" and sent["document_number"]
    assert sent["invoice_number"] == sent["document_number"]
    assert sent["pdf_url"] == f"/orders/{order.id}/fortnox.pdf"
    assert sent["last_error"] is None


def test_a_failed_send_says_why(client, login, connect, order_in):
    connect(disable_article_creation=True)
    order = order_in()
    login("office")
    client.post(f"/orders/{order.id}/send")
    failed = client.get(f"/orders/{order.id}/fortnox-state").json
    assert failed["state"] == "failed" and failed["label"] == "Misslyckades"
    assert "Artikeln A7301 finns inte i Fortnox" in failed["last_error"]
    assert failed["document_number"] is None and failed["pdf_url"] is None


def test_technicians_see_their_subgroups_orders_only(client, login, west, order_in):
    mine, theirs = order_in(west, "7311"), order_in(None, "7312")
    login("technician", subgroup=west)
    assert client.get(f"/orders/{mine.id}/fortnox-state").status_code == 200
    assert client.get(f"/orders/{theirs.id}/fortnox-state").status_code == 403
    assert client.get("/orders/999999/fortnox-state").status_code == 404
    listed = client.get(f"/orders/fortnox-states?id={mine.id}&id={theirs.id}&id=999999")
    assert listed.status_code == 200 and "no-store" in listed.headers["Cache-Control"]
    assert [o["id"] for o in listed.json["orders"]] == [mine.id]


def test_anonymous_is_sent_to_the_login(client, order_in):
    order = order_in()
    for url in (f"/orders/{order.id}/fortnox-state", f"/orders/fortnox-states?id={order.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_list_endpoint_checks_its_ids(client, login, order_in):
    first, second = order_in(None, "7321"), order_in(None, "7322")
    set_state(second, FortnoxState.SENDING)
    login("office")
    listed = client.get(f"/orders/fortnox-states?id={second.id}&id={first.id}&id={first.id}")
    assert [(o["id"], o["state"], o["label"]) for o in listed.json["orders"]] == [
        (first.id, "not_sent", "Ej skickad"),
        (second.id, "sending", "Skickas"),
    ]
    assert client.get("/orders/fortnox-states").json == {"orders": []}
    assert client.get("/orders/fortnox-states?id=abc").status_code == 400
    too_many = "&".join(f"id={n}" for n in range(1, 102))
    assert client.get(f"/orders/fortnox-states?{too_many}").status_code == 413


def test_the_pages_follow_only_sends_under_way(client, login, order_in):
    busy, idle = order_in(None, "7331"), order_in(None, "7332")
    set_state(busy, FortnoxState.QUEUED)
    login("office")
    page = client.get(f"/orders/{busy.id}").get_data(as_text=True)
    assert f'data-fortnox-state-url="/orders/{busy.id}/fortnox-state"' in page
    assert "data-fortnox-may-reload" in page  # a GET: the script may load it again
    assert "Ladda om sidan för att se resultatet" in page  # without JavaScript
    assert "Skicka till Fortnox" not in page
    page = client.get(f"/orders/{idle.id}").get_data(as_text=True)
    assert "data-fortnox-state-url" not in page and "Skicka till Fortnox" in page
    listing = client.get("/orders").get_data(as_text=True)
    assert f'data-fortnox-follow="{busy.id}"' in listing
    assert f'data-fortnox-follow="{idle.id}"' not in listing
    assert 'data-fortnox-states-url="/orders/fortnox-states"' in listing
