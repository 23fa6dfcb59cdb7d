"""The customer page lists the customer's latest orders through the one scoped order query
(issue #17): a technician sees only their own subgroup's orders there, as on the order list."""

from __future__ import annotations

from app.auth.models import Subgroup
from app.extensions import db
from app.orders.services import create_order
from tests import factories


def _order(customer, subgroup, office, description):  # type: ignore[no-untyped-def]
    order = create_order(
        {
            "kind": "service",
            "customer_id": customer.id,
            "subgroup_id": subgroup.id if subgroup else None,
            "description": description,
        },
        by=office,
    )
    db.session.commit()
    return order


def test_the_customer_page_shows_only_the_orders_the_user_may_see(client, login, make_user):
    west, south = Subgroup(name="Väst"), Subgroup(name="Syd")
    db.session.add_all([west, south])
    db.session.commit()
    office = make_user("office")
    customer = factories.customer(name="Delad Kund AB")
    own = _order(customer, west, office, "Västs eget jobb")
    other = _order(customer, south, office, "Syds hemliga jobb")
    none = _order(customer, None, office, "Jobb utan undergrupp")

    login("technician", subgroup=west)
    html = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert own.display_number in html and "Västs eget jobb" in html
    assert other.display_number not in html and "Syds hemliga jobb" not in html
    assert none.display_number not in html


def test_office_sees_every_order_of_the_customer(client, login, make_user):
    west, south = Subgroup(name="Väst"), Subgroup(name="Syd")
    db.session.add_all([west, south])
    db.session.commit()
    office = make_user("office")
    customer = factories.customer(name="Delad Kund AB")
    orders = [
        _order(customer, sub, office, f"Jobb {n}") for n, sub in enumerate((west, south, None))
    ]

    login("office")
    html = client.get(f"/customers/{customer.id}").get_data(as_text=True)
    assert all(order.display_number in html for order in orders)
