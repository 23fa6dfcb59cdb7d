"""The number of SQL statements a page or an API answer costs does not grow with the rows it
shows (issue #18): eager loading on one query path per list, shared by the web and the API."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import date
from decimal import Decimal

from sqlalchemy import event

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
