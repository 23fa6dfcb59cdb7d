"""Every list a request carries has an upper bound (app/limits.py), stated in the API schema,
refused past it with 422 before any row is read, and on the web with the form kept."""

from __future__ import annotations

from app.extensions import db
from app.limits import MAX_ACTIONS, MAX_ARTICLE_ROWS, MAX_CONTACTS
from app.orders.models import Order
from app.orders.services import create_order
from tests import factories


def _order(make_user):
    customer = factories.customer(customer_number="9001", name="Gräns AB")
    order = create_order({"kind": "work", "customer_id": customer.id}, by=make_user("office"))
    db.session.commit()
    return order


def test_the_api_refuses_more_actions_than_the_limit_and_saves_nothing(api, make_user):
    order = _order(make_user)
    actions = [{"date": "2026-11-20", "description": "x"}] * (MAX_ACTIONS + 1)
    response = api("office").patch(f"/orders/{order.id}", json={"actions": actions})
    assert response.status_code == 422
    assert response.json["error"]["fields"]["actions"] == [f"Högst {MAX_ACTIONS} rader."]
    db.session.expire_all()
    assert db.session.get(Order, order.id).actions == []
    at_limit = api("office").patch(f"/orders/{order.id}", json={"actions": actions[:MAX_ACTIONS]})
    assert at_limit.status_code == 200


def test_the_bounds_are_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    order = spec["components"]["schemas"]["Order"]["properties"]
    assert order["actions"]["maxItems"] == MAX_ACTIONS
    assert order["article_rows"]["maxItems"] == MAX_ARTICLE_ROWS
    customer = spec["components"]["schemas"]["Customer"]["properties"]
    assert customer["contacts"]["maxItems"] == MAX_CONTACTS


def test_the_web_form_refuses_too_many_rows(client, login, make_user):
    order = _order(make_user)
    login("office")
    data = {"op": "save", "customer_id": str(order.customer_id)}
    for i in range(MAX_ACTIONS + 5):
        data[f"actions-{i}-description"] = "Bytt filter"
        data[f"actions-{i}-date"] = "2026-11-20"
    response = client.post(f"/orders/{order.id}", data=data)
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(Order, order.id).actions == []
