"""Flask CLI commands."""

from __future__ import annotations

from sqlalchemy import func, select

from app.auth.models import ApiToken, Role, User
from app.extensions import db


def test_users_create_and_create_token(runner, app):
    result = runner.invoke(
        args=[
            "users",
            "create",
            "Eva@Example.com",
            "--name",
            "Eva Ek",
            "--role",
            "office",
            "--password",
            "långt-lösen",
        ]
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "eva@example.com"))
    assert user.role == Role.OFFICE and user.check_password("långt-lösen")

    result = runner.invoke(args=["users", "create-token", "eva@example.com"])
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    assert token.startswith("ordna_")
    # Stored hashed only, and it works against the API.
    assert db.session.scalar(select(ApiToken.token_hash)) == ApiToken.hash(token)
    assert token not in str(db.session.scalars(select(ApiToken.token_hash)).all())
    response = app.test_client().get(
        "/api/v1/customers", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_users_create_refuses_a_duplicate(runner, app):
    args = ["users", "create", "a@example.com", "--name", "A", "--password", "12345678"]
    assert runner.invoke(args=args).exit_code == 0
    result = runner.invoke(args=args)
    assert result.exit_code != 0
    assert "redan" in result.output


def test_create_token_for_unknown_user_fails(runner, app):
    result = runner.invoke(args=["users", "create-token", "nobody@example.com"])
    assert result.exit_code != 0


def test_demo_data_fills_an_empty_database(runner, app):
    from app.articles.models import Article
    from app.customers.models import Customer, Facility, ServiceObject
    from app.orders.models import Order, OrderKind, OrderStatus

    result = runner.invoke(args=["demo-data"])
    assert result.exit_code == 0, result.output
    count = lambda model: db.session.scalar(select(func.count()).select_from(model))  # noqa: E731
    assert count(Customer) == 50
    assert count(Article) == 200
    assert count(Order) == 300
    assert count(Facility) >= 50 and count(ServiceObject) >= 50
    assert db.session.scalar(select(func.count()).where(User.role == Role.TECHNICIAN)) == 3
    assert db.session.scalar(select(func.count()).where(User.role == Role.ADMIN)) == 1
    kinds = set(db.session.scalars(select(Order.kind).distinct()))
    statuses = set(db.session.scalars(select(Order.status).distinct()))
    assert kinds == set(OrderKind)
    # Nothing shows as sent or invoiced that Fortnox has never seen (issue 14).
    assert statuses == set(OrderStatus) - {OrderStatus.SENT, OrderStatus.INVOICED}
    from app.orders.models import FortnoxState

    states = set(db.session.scalars(select(Order.fortnox_state).distinct()))
    assert states == {FortnoxState.NOT_SENT}
    # Numbers continue from the demo data without clashing.
    assert runner.invoke(args=["demo-data"]).exit_code != 0  # refuses a non-empty database
