"""Constraints the database itself enforces (run on PostgreSQL in CI, SQLite locally)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from app.articles.models import Article
from app.customers.models import Customer, Facility, ServiceObject
from app.extensions import db
from app.orders.models import ArticleRow, Order, OrderKind, OrderServiceObject
from tests import factories


def _fails(*objects) -> None:  # type: ignore[no-untyped-def]
    db.session.add_all(objects)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_customer_number_is_unique(app):
    db.session.add(Customer(customer_number="100", name="A", custom_fields={}))
    db.session.commit()
    _fails(Customer(customer_number="100", name="B", custom_fields={}))


def test_article_number_is_unique(app):
    db.session.add(Article(article_number="X1", name="A"))
    db.session.commit()
    _fails(Article(article_number="X1", name="B"))


def test_article_price_cannot_be_negative(app):
    _fails(Article(article_number="N1", name="A", price=Decimal("-1")))


def test_facility_needs_an_existing_customer(app):
    _fails(Facility(customer_id=999, name="Nowhere", custom_fields={}))


def test_service_object_hours_cannot_be_negative(app):
    customer = factories.customer()
    facility = factories.facility(customer)
    _fails(ServiceObject(facility_id=facility.id, name="M", operating_hours=Decimal("-5")))


def _order(customer: Customer, number: int = 1001, kind: OrderKind = OrderKind.WORK) -> Order:
    return Order(kind=kind, number=number, customer_id=customer.id, custom_fields={})


def test_order_number_is_unique_per_kind(app):
    customer = factories.customer()
    db.session.add(_order(customer, 1001, OrderKind.WORK))
    db.session.add(_order(customer, 1001, OrderKind.SERVICE))  # another kind: allowed
    db.session.commit()
    _fails(_order(customer, 1001, OrderKind.WORK))


def test_article_row_quantity_cannot_be_negative(app):
    customer = factories.customer()
    article = factories.article("A1")
    order = _order(customer)
    db.session.add(order)
    db.session.commit()
    _fails(
        ArticleRow(
            order_id=order.id,
            article_id=article.id,
            quantity=Decimal("-1"),
            price=Decimal("1"),
            date=date(2026, 11, 20),
        )
    )


def test_article_row_needs_an_existing_article(app):
    customer = factories.customer()
    order = _order(customer)
    db.session.add(order)
    db.session.commit()
    _fails(
        ArticleRow(order_id=order.id, article_id=4242, quantity=Decimal("1"), price=Decimal("1"))
    )


def test_a_service_object_is_covered_once_per_order(app):
    customer = factories.customer()
    so = factories.service_object(factories.facility(customer))
    order = _order(customer)
    db.session.add(order)
    db.session.commit()
    db.session.add(OrderServiceObject(order_id=order.id, service_object_id=so.id))
    db.session.commit()
    _fails(OrderServiceObject(order_id=order.id, service_object_id=so.id))


def test_order_status_outside_the_enum_is_refused_by_the_database(app):
    customer = factories.customer()
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.execute(
                text(
                    "INSERT INTO orders (kind, number, status, customer_id, custom_fields, "
                    "fortnox_state, created_at, updated_at) VALUES ('work', 5, 'bogus', :c, "
                    "'{}', 'not_sent', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"c": customer.id},
            )
    db.session.rollback()


def test_deleting_a_customer_removes_its_facilities_and_contacts(app):
    customer = factories.customer(contacts=[{"name": "Eva"}])
    factories.service_object(factories.facility(customer))
    db.session.delete(customer)
    db.session.commit()
    assert db.session.scalar(text("SELECT count(*) FROM facilities")) == 0
    assert db.session.scalar(text("SELECT count(*) FROM service_objects")) == 0
    assert db.session.scalar(text("SELECT count(*) FROM contact_persons")) == 0
