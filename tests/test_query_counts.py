"""The number of SQL statements a page or an API answer costs does not grow with the rows it
shows (issue #18): eager loading on one query path per list, shared by the web and the API."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import event

from app.customers.models import Customer
from app.extensions import db
from app.orders.services import create_order
from tests import factories


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # noqa: ARG001
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _world(make_user):
    tech = make_user("technician", name="Tove Tekniker")
    office = make_user("office")
    customer = factories.customer(customer_number="5001", name="Räknare AB")
    facility = factories.facility(customer, name="Hallen")
    machine = None
    for n in range(3):
        factories.article(f"Q{n}", name=f"Artikel {n}", price=Decimal(10 + n))
    db.session.commit()
    return tech, office, customer, facility, machine


def _orders(world, count: int, rows: int) -> list[int]:
    tech, office, customer, facility, _machine = world
    ids = []
    for _ in range(count):
        order = create_order(
            {
                "kind": "service",
                "customer_id": customer.id,
                "facility_id": facility.id,
                "assigned_user_id": tech.id,
                "actions": [
                    {"date": date(2026, 11, 20), "description": f"Åtgärd {i}",
                     "technician_id": tech.id, "hours": Decimal(1)}
                    for i in range(max(1, rows // 5))
                ],
                "article_rows": [
                    {"article_number": f"Q{i % 3}", "quantity": Decimal(1),
                     "technician_id": tech.id}
                    for i in range(rows)
                ],
            },
            by=office,
        )  # fmt: skip
        ids.append(order.id)
    db.session.commit()
    return ids


def statements_for(get) -> int:
    with counted() as statements:
        response = get()
    assert response.status_code == 200, response.status_code
    return len(statements)


def test_order_list_costs_the_same_for_5_and_25_orders(client, login, make_user):
    world = _world(make_user)
    login("office")
    _orders(world, 5, rows=3)
    few = statements_for(lambda: client.get("/orders"))
    _orders(world, 20, rows=3)
    many = statements_for(lambda: client.get("/orders"))
    assert many == few


def test_order_page_costs_the_same_for_5_and_40_rows(client, login, make_user):
    world = _world(make_user)
    login("office")
    (small,) = _orders(world, 1, rows=5)
    (large,) = _orders(world, 1, rows=40)
    statements_for(lambda: client.get(f"/orders/{small}"))  # warm the per-process caches
    assert statements_for(lambda: client.get(f"/orders/{large}")) == statements_for(
        lambda: client.get(f"/orders/{small}")
    )


def test_customer_list_costs_the_same_for_5_and_25_customers_with_tags(client, login, api):
    office = api("office")
    login("office")

    def add(n):
        for i in range(n):
            office.post("/customers", json={"name": f"Kund {i} {n}", "tags": ["A", f"T{i}"]})

    add(5)
    few = statements_for(lambda: client.get("/customers"))
    add(20)
    many = statements_for(lambda: client.get("/customers"))
    assert many == few


def test_api_order_list_costs_the_same_for_25_and_50_orders(api, make_user):
    world = _world(make_user)
    office = api("office")
    statements_for(lambda: office.get("/orders"))  # the token's first use is saved: a write
    _orders(world, 25, rows=4)
    few = statements_for(lambda: office.get("/orders?per_page=25"))
    _orders(world, 25, rows=4)
    many = statements_for(lambda: office.get("/orders?per_page=50"))
    assert many == few


def test_api_order_costs_the_same_for_5_and_40_rows(api, make_user):
    world = _world(make_user)
    office = api("office")
    (small,) = _orders(world, 1, rows=5)
    (large,) = _orders(world, 1, rows=40)
    statements_for(lambda: office.get(f"/orders/{small}"))  # warm the per-process caches
    assert statements_for(lambda: office.get(f"/orders/{large}")) == statements_for(
        lambda: office.get(f"/orders/{small}")
    )


def test_order_page_costs_the_same_for_one_and_four_facilities(client, login, make_user):
    """The service objects the rows offer are read for all the customer's facilities at once
    (services.PAGE_OPTIONS), never one query per facility."""
    world = _world(make_user)
    _tech, _office, customer, facility, _machine = world
    factories.service_object(facility, name="Kompressor 1")
    customer_id = customer.id
    login("office")
    (order_id,) = _orders(world, 1, rows=5)

    def fresh_page():  # a new session, as each request has in production
        db.session.remove()
        return client.get(f"/orders/{order_id}")

    statements_for(fresh_page)  # warm the per-process caches
    one = statements_for(fresh_page)
    customer = db.session.get(Customer, customer_id)
    for n in range(3):
        more = factories.facility(customer, name=f"Lager {n}")
        factories.service_object(more, name=f"Kompressor {n + 2}")
    assert "Lager 2 · Kompressor 4" in fresh_page().get_data(as_text=True)  # offered
    assert statements_for(fresh_page) == one


def test_order_page_reads_the_users_to_choose_from_once(client, login, make_user):
    """The "Tilldelad" select and every row's technician select offer users read in one
    query (web.users_to_choose), whatever the number of rows."""
    world = _world(make_user)
    login("office")
    (order_id,) = _orders(world, 1, rows=10)
    client.get(f"/orders/{order_id}")
    with counted() as statements:
        response = client.get(f"/orders/{order_id}")
    assert response.status_code == 200
    choosing = [s for s in statements if "WHERE users.active" in s]
    assert len(choosing) == 1, choosing


def _tables(statements: list[str]) -> set[str]:
    return {name for s in statements for name in re.findall(r"\b(?:FROM|JOIN)\s+([a-z_]+)", s)}


# What an API order answer shows (app/api/orders.py OrderSchema): the references as ids, the
# rows' articles, the service objects' names, the comments' authors and the signer.
API_ORDER_TABLES = {
    "api_tokens",
    "users",
    "orders",
    "actions",
    "article_rows",
    "articles",
    "order_service_objects",
    "service_objects",
    "comments",
}


def test_api_order_list_reads_only_what_it_shows(api, make_user):
    """No customers, facilities, contacts or subgroups are loaded for an answer that shows
    their ids only (services.API_OPTIONS): building them was most of a list's time."""
    world = _world(make_user)
    office = api("office")
    _orders(world, 5, rows=4)
    office.get("/orders")  # the token's first use is saved: a write
    with counted() as statements:
        response = office.get("/orders?per_page=50")
    assert response.status_code == 200
    assert len(response.get_json()["items"]) == 5
    assert _tables(statements) <= API_ORDER_TABLES, _tables(statements) - API_ORDER_TABLES


def test_api_order_reads_only_what_it_shows(api, make_user):
    world = _world(make_user)
    office = api("office")
    (order_id,) = _orders(world, 1, rows=4)
    office.get(f"/orders/{order_id}")
    with counted() as statements:
        response = office.get(f"/orders/{order_id}")
    assert response.status_code == 200
    assert response.get_json()["article_rows"][0]["article_name"] == "Artikel 0"
    assert _tables(statements) <= API_ORDER_TABLES, _tables(statements) - API_ORDER_TABLES
