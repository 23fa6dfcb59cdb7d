"""The order services as every caller shares them: they take plain data and `by`, and know
nothing of the web (docs/architecture.md); a new order may start at a later status in the
same call (`POST /api/v1/orders` with `status`)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.errors import Conflict
from app.extensions import db
from app.orders.models import Order, OrderStatus
from app.orders.services import create_order
from tests import factories

ORDERS = Path(__file__).resolve().parents[2] / "app" / "orders"

# What a service must not reach for: the request, who is signed in, the forms.
WEB_ONLY = {
    ("flask", "request"),
    ("flask", "session"),
    ("flask_login", "current_user"),
}
WEB_MODULES = (
    "app.orders.forms",
    "app.orders.formdata",
    "app.orders.routes",
    "app.formfields",
    "app.web",
    "wtforms",
    "flask_wtf",
)


def imports_of(path: Path) -> set[tuple[str, str]]:
    """(module, name) of every import in the file, those inside functions included."""
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {(alias.name, "") for alias in node.names}
    return found


@pytest.mark.parametrize("module", ["services.py", "images.py"])
def test_the_order_services_know_no_request_user_or_form(module):
    imports = imports_of(ORDERS / module)
    assert imports & WEB_ONLY == set()
    assert [m for m, _ in imports if m.startswith(WEB_MODULES)] == []


def test_the_form_diffing_lives_in_the_web_layer():
    """That the web form always sends every list is the page's business: `formdata`, not
    the services."""
    from app.orders import formdata, services

    for name in ("strip_unchanged_work", "saved_differently", "order_data", "WORK_LISTS"):
        assert hasattr(formdata, name) and not hasattr(services, name), name


@pytest.fixture
def customer(app):  # type: ignore[no-untyped-def]
    made = factories.customer(name="Verkstads AB", customer_number="2001")
    db.session.commit()
    return made


def test_a_new_order_starts_at_the_status_asked_for(customer, make_user):
    order = create_order(
        {"kind": "service", "customer_id": customer.id, "status": "ready"}, by=make_user("office")
    )
    assert order.status == OrderStatus.READY


def test_a_status_a_draft_cannot_move_to_refuses_the_new_order(customer, make_user):
    with pytest.raises(Conflict):
        create_order(
            {"kind": "service", "customer_id": customer.id, "status": "sent"},
            by=make_user("office"),
        )


def test_the_api_creates_an_order_at_a_status_in_one_call(api, customer):
    office = api("office")
    created = office.post(
        "/orders", json={"kind": "work", "customer_id": customer.id, "status": "in_progress"}
    )
    assert created.status_code == 201, created.json
    assert created.json["status"] == "in_progress"
    assert db.session.get(Order, created.json["id"]).status == OrderStatus.IN_PROGRESS

    refused = office.post(
        "/orders", json={"kind": "work", "customer_id": customer.id, "status": "invoiced"}
    )
    assert refused.status_code == 409
    assert refused.json["error"]["code"] == "invalid_status_change"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1  # nothing half-made
