"""Security headers on every answer, and bad input that must never answer 500: ids beyond the
database's integer, NUL bytes and lone surrogates (issue #17)."""

from __future__ import annotations

import pytest

from app.security import MAX_ID


def test_pages_carry_the_security_headers(client, login):
    login("office")
    response = client.get("/orders")
    headers = response.headers
    csp = headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"
    assert headers["Cache-Control"] == "no-store"  # a signed-in page is never cached
    assert "Strict-Transport-Security" not in headers  # plain HTTP here


def test_hsts_over_https(client):
    response = client.get("/login", base_url="https://ordna.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_production_refuses_the_sandbox_credentials_by_default():
    from app import create_app
    from app.config import Config

    config = type("NoFortnoxSecret", (Config,), {"SECRET_KEY": "x" * 32})
    with pytest.raises(RuntimeError, match="FORTNOX_CLIENT_ID"):
        create_app(config)


@pytest.mark.parametrize("order_id", [MAX_ID + 1, 10**30, 0])
def test_ids_beyond_the_database_integer_are_not_found_not_500(client, login, api, order_id):
    login("office")
    assert client.get(f"/orders/{order_id}").status_code == 404
    response = api("office").get(f"/orders/{order_id}")
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


def test_nul_bytes_are_refused_with_a_message(client, login, api):
    text = "a\x00b"
    login("office")
    page = client.get("/orders", query_string={"q": text})
    assert page.status_code == 400
    assert "inte kan sparas" in page.get_data(as_text=True)
    response = api("office").get("/orders", query_string={"q": text})
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"
    form = client.post("/customers/new", data={"name": text, "customer_number": "1"})
    assert form.status_code == 400


def test_lone_surrogates_and_deep_nesting_in_json_are_400(api):
    client = api("office")
    surrogate = client.post(
        "/customers",
        data='{"customer_number": "77", "name": "a\\ud800b"}',
        content_type="application/json",
    )
    assert surrogate.status_code == 400 and surrogate.json["error"]["code"] == "bad_request"
    deep = client.post("/customers", data="[" * 1000 + "]" * 1000, content_type="application/json")
    assert deep.status_code == 400 and "djupt" in deep.json["error"]["message"]


@pytest.mark.parametrize("bad", [1.5, MAX_ID + 1, 2**40, "1.5", True, -1])
def test_ids_in_bodies_are_whole_numbers_within_the_database_integer(api, bad):
    response = api("office").post("/orders", json={"kind": "work", "customer_id": bad})
    assert response.status_code == 422, response.json
    assert "customer_id" in response.json["error"]["fields"]


@pytest.mark.parametrize("query", ["customer_id=99999999999999", "page=99999999999", "page=0"])
def test_huge_filters_and_pages_are_422_not_500(api, query):
    response = api("office").get(f"/orders?{query}")
    assert response.status_code == 422, response.json


def test_a_huge_page_number_on_a_web_list_is_page_one(client, login):
    login("office")
    assert client.get("/orders?page=999999999999999999999").status_code == 200
    assert client.get("/customers?page=٣").status_code == 200  # a non-ASCII digit


def test_removing_a_contact_an_order_uses_is_a_409_with_a_message(api, make_user):
    from app.extensions import db
    from app.orders.services import create_order
    from tests import factories

    customer = factories.customer(customer_number="8800", name="Kontakt AB")
    customer_json = (
        api("office")
        .patch(f"/customers/{customer.id}", json={"contacts": [{"name": "Anna Ek"}]})
        .json
    )
    contact_id = customer_json["contacts"][0]["id"]
    create_order(
        {"kind": "work", "customer_id": customer.id, "contact_id": contact_id},
        by=make_user("office"),
    )
    db.session.commit()
    response = api("office").patch(f"/customers/{customer.id}", json={"contacts": []})
    assert response.status_code == 409
    assert "Anna Ek står på order AO" in response.json["error"]["message"]
