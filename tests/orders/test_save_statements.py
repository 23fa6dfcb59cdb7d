"""Saving an order's article rows costs the same number of SQL statements for 5 rows as for
40 (issue #18): the rows' articles are looked up in one query, not one a row."""

from __future__ import annotations

from decimal import Decimal

from app.extensions import db
from app.orders.services import create_order
from tests import factories
from tests.test_query_counts import counted


def _order_and_articles(make_user):  # type: ignore[no-untyped-def]
    office = make_user("office")
    customer = factories.customer(customer_number="5002", name="Sparare AB")
    facility = factories.facility(customer)
    for n in range(40):
        factories.article(f"S{n:02d}", name=f"Del {n}", price=Decimal(5 + n))
    order = create_order(
        {"kind": "work", "customer_id": customer.id, "facility_id": facility.id}, by=office
    )
    db.session.commit()
    return order.id


def _rows(count: int, quantity: int) -> list[dict]:
    return [{"article_number": f"s{n:02d}", "quantity": quantity} for n in range(count)]


def _statements_to_save(client, order_id: int, rows: list[dict]) -> int:  # type: ignore[no-untyped-def]
    """The statements a save sends, but its INSERTs: PostgreSQL gets one for all rows,
    SQLite's driver one a row."""
    with counted() as statements:
        response = client.patch(f"/orders/{order_id}", json={"article_rows": rows})
    assert response.status_code == 200, response.get_json()
    return len([s for s in statements if not s.lstrip().upper().startswith("INSERT")])


def test_saving_40_article_rows_costs_as_many_statements_as_5(api, make_user):
    order_id = _order_and_articles(make_user)
    office = api("office")
    _statements_to_save(office, order_id, _rows(5, 1))  # warm the per-process caches
    few = _statements_to_save(office, order_id, _rows(5, 2))
    many = _statements_to_save(office, order_id, _rows(40, 3))
    assert many == few
    saved = office.get(f"/orders/{order_id}").get_json()["article_rows"]
    assert [(r["article_number"], Decimal(str(r["quantity"]))) for r in saved] == [
        (f"S{n:02d}", Decimal(3)) for n in range(40)
    ]


def test_an_unknown_article_number_is_still_reported_on_its_row(api, make_user):
    order_id = _order_and_articles(make_user)
    office = api("office")
    rows = [*_rows(3, 1), {"article_number": "NOPE", "quantity": 1}]
    response = office.patch(f"/orders/{order_id}", json={"article_rows": rows})
    assert response.status_code == 422
    assert "article_rows.3.article_number" in str(response.get_json())
