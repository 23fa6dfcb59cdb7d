"""Order numbers: one sequence per kind that never hands out the same number twice."""

from __future__ import annotations

import threading

from sqlalchemy import select

from app.auth.models import User
from app.extensions import db
from app.orders.models import Order, OrderKind
from app.orders.services import create_order
from tests import factories
from tests.conftest import IS_POSTGRES, make_app, requires_postgres


def test_each_kind_has_its_own_sequence_starting_at_1001(app, make_user):
    user = make_user("office")
    customer = factories.customer()
    made = [
        create_order({"kind": kind, "customer_id": customer.id}, by=user)
        for kind in ("work", "work", "service", "sales", "work")
    ]
    db.session.commit()
    assert [o.display_number for o in made] == [
        "AO 1001",
        "AO 1002",
        "SO 1001",
        "FO 1001",
        "AO 1003",
    ]


def test_a_rolled_back_creation_does_not_burn_or_duplicate_numbers(app, make_user):
    user = make_user("office")
    customer = factories.customer()
    create_order({"kind": "work", "customer_id": customer.id}, by=user)
    db.session.rollback()
    order = create_order({"kind": "work", "customer_id": customer.id}, by=user)
    db.session.commit()
    assert order.number == 1001


@requires_postgres
def test_order_numbers_unique_under_8_concurrent_creators(app, make_user):
    assert IS_POSTGRES, "this test is meaningful on PostgreSQL only"
    user = make_user("office")
    customer = factories.customer()
    user_id, customer_id = user.id, customer.id
    db.session.commit()
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []
    per_thread = 10

    # Apps are built here: building Flask apps concurrently is not what is under test.
    apps = [make_app() for _ in range(8)]

    def creator(worker_app) -> None:  # type: ignore[no-untyped-def]
        with worker_app.app_context():
            try:
                by = db.session.get(User, user_id)
                barrier.wait(timeout=60)
                for _ in range(per_thread):
                    create_order({"kind": "work", "customer_id": customer_id}, by=by)
                    db.session.commit()
            except BaseException as exc:  # reported by the main thread
                errors.append(exc)
                barrier.abort()  # release the others instead of leaving them waiting
            finally:
                db.session.remove()
                db.engine.dispose()

    threads = [threading.Thread(target=creator, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors, errors
    numbers = db.session.scalars(select(Order.number).where(Order.kind == OrderKind.WORK)).all()
    assert len(numbers) == 8 * per_thread
    assert sorted(numbers) == list(range(1001, 1001 + 8 * per_thread))
