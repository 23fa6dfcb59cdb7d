"""Concurrent edits (issue #17): a version on orders, customers and articles, `ETag` on GET,
`If-Match` honoured on PATCH (412 when stale), and a save that loses the race to another one
refused instead of merged or dropped."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.articles.models import Article
from app.customers.models import Customer
from app.extensions import db
from app.orders import services
from app.orders.models import Order


@pytest.fixture
def world(api):  # type: ignore[no-untyped-def]
    office = api("office")
    customer = office.post("/customers", json={"name": "Verkstad AB"}).json
    office.post("/articles", json={"article_number": "1001", "name": "Oljefilter", "price": 250})
    order = office.post("/orders", json={"kind": "work", "customer_id": customer["id"]}).json
    return {"office": office, "customer": customer, "order": order}


def _saved_order(order_id: int) -> Order:
    db.session.expire_all()
    order = db.session.get(Order, order_id)
    assert order is not None
    return order


def _someone_else_saves(table: str, id_: int, column: str, value: str) -> None:
    """Another client's change, committed on a connection of its own (as another worker's
    transaction would be), bumping the version as the ORM does, while this request holds what
    it has read. What the request wrote so far (its token's last use) is committed first, as
    SQLite lets one writer in at a time; its objects keep the state they were read with."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    with db.engine.begin() as conn:
        conn.execute(
            text(f"UPDATE {table} SET {column} = :value, version = version + 1 WHERE id = :id"),
            {"value": value, "id": id_},
        )


def test_get_of_one_order_gives_its_version_as_a_strong_etag(world):
    response = world["office"].get(f"/orders/{world['order']['id']}")
    assert response.status_code == 200
    assert response.headers["ETag"] == '"1"'
    assert response.headers["ETag"] == f'"{_saved_order(world["order"]["id"]).version}"'


def test_patch_with_the_current_etag_saves_and_answers_the_new_etag(world):
    office, order_id = world["office"], world["order"]["id"]
    etag = office.get(f"/orders/{order_id}").headers["ETag"]
    response = office.patch(
        f"/orders/{order_id}", json={"description": "Byt filter"}, headers={"If-Match": etag}
    )
    assert response.status_code == 200, response.json
    assert response.json["description"] == "Byt filter"
    assert response.headers["ETag"] == '"2"' != etag
    assert office.get(f"/orders/{order_id}").headers["ETag"] == response.headers["ETag"]


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(world):
    office, order_id = world["office"], world["order"]["id"]
    etag = office.get(f"/orders/{order_id}").headers["ETag"]
    # Between this client's GET and its PATCH the office saves the order.
    assert office.patch(f"/orders/{order_id}", json={"orderer": "Kontoret"}).status_code == 200
    response = office.patch(
        f"/orders/{order_id}",
        json={"orderer": "Teknikern", "description": "Byt filter"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 412
    assert response.json["error"]["code"] == "precondition_failed"
    assert response.json["error"]["message"]
    saved = _saved_order(order_id)
    assert (saved.orderer, saved.description, saved.version) == ("Kontoret", None, 2)


def test_if_match_compares_strongly_and_star_matches(world):
    office, order_id = world["office"], world["order"]["id"]
    weak = office.patch(f"/orders/{order_id}", json={"orderer": "A"}, headers={"If-Match": 'W/"1"'})
    assert weak.status_code == 412
    several = office.patch(
        f"/orders/{order_id}", json={"orderer": "B"}, headers={"If-Match": '"7", "1"'}
    )
    assert several.status_code == 200
    star = office.patch(f"/orders/{order_id}", json={"orderer": "C"}, headers={"If-Match": "*"})
    assert star.status_code == 200
    assert _saved_order(order_id).orderer == "C"


def test_patch_without_if_match_still_saves(world):
    office, order_id = world["office"], world["order"]["id"]
    response = office.patch(f"/orders/{order_id}", json={"orderer": "Kontoret"})
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_a_patch_that_loses_the_race_is_refused_not_merged(world, monkeypatch):
    """Both PATCHes read version 1; the other one commits first, while this one is between
    its read (and its If-Match check) and its write: this one is refused, nothing of it is
    written, and the other one's change stands."""
    office, order_id = world["office"], world["order"]["id"]
    etag = office.get(f"/orders/{order_id}").headers["ETag"]
    update_order = services.update_order

    def racing_update(order, data, *, by):  # type: ignore[no-untyped-def]
        _someone_else_saves("orders", order.id, "orderer", "Kontoret")
        return update_order(order, data, by=by)

    monkeypatch.setattr(services, "update_order", racing_update)
    response = office.patch(
        f"/orders/{order_id}",
        json={"description": "Byt filter", "orderer": "Teknikern"},
        headers={"If-Match": etag},
    )
    assert response.status_code == 412
    assert response.json["error"]["code"] == "precondition_failed"
    saved = _saved_order(order_id)
    assert (saved.orderer, saved.description, saved.version) == ("Kontoret", None, 2)

    # Without If-Match the loser gets 409 edit_conflict: last-writer-wins only for clients
    # that do not ask, and never a silent union of two writes done at once.
    response = office.patch(f"/orders/{order_id}", json={"description": "Byt filter igen"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "edit_conflict"
    saved = _saved_order(order_id)
    assert (saved.orderer, saved.description, saved.version) == ("Kontoret", None, 3)


def test_two_sessions_editing_one_order_the_second_write_fails(world):
    order_id = world["order"]["id"]
    with Session(db.engine) as technician:
        stale = technician.get(Order, order_id)
        assert stale is not None and stale.version == 1
        order = _saved_order(order_id)
        order.orderer = "Kontoret"
        db.session.commit()
        stale.description = "Byt filter"
        with pytest.raises(StaleDataError):
            technician.commit()
    saved = _saved_order(order_id)
    assert (saved.orderer, saved.description, saved.version) == ("Kontoret", None, 2)


def test_a_change_of_child_rows_only_bumps_the_order_version(world):
    office, order_id = world["office"], world["order"]["id"]
    etag = office.get(f"/orders/{order_id}").headers["ETag"]
    actions = office.patch(
        f"/orders/{order_id}",
        json={"actions": [{"description": "Bytte filter", "hours": 1}]},
        headers={"If-Match": etag},
    )
    assert actions.status_code == 200, actions.json
    assert actions.headers["ETag"] == '"2"'
    rows = office.patch(
        f"/orders/{order_id}",
        json={"article_rows": [{"article_number": "1001", "quantity": 2}]},
        headers={"If-Match": actions.headers["ETag"]},
    )
    assert rows.status_code == 200, rows.json
    assert rows.headers["ETag"] == '"3"'
    # The first client's page still says version 2: its row change is refused.
    stale = office.patch(
        f"/orders/{order_id}", json={"actions": []}, headers={"If-Match": actions.headers["ETag"]}
    )
    assert stale.status_code == 412
    saved = _saved_order(order_id)
    assert [a.description for a in saved.actions] == ["Bytte filter"]
    assert [r.quantity for r in saved.article_rows] == [2]


@pytest.mark.parametrize(
    ("path", "model", "field", "theirs", "mine"),
    [
        ("/customers/{id}", Customer, "phone", "031-1", "031-2"),
        ("/articles/{id}", Article, "unit", "st", "tim"),
    ],
)
def test_customers_and_articles_have_etags_and_honour_if_match(
    world, path, model, field, theirs, mine
):
    office = world["office"]
    record = db.session.scalars(db.select(model)).first()
    url = path.format(id=record.id)
    got = office.get(url)
    assert got.status_code == 200 and got.headers["ETag"] == '"1"'
    first = office.patch(url, json={field: theirs}, headers={"If-Match": got.headers["ETag"]})
    assert first.status_code == 200 and first.headers["ETag"] == '"2"'
    stale = office.patch(url, json={field: mine}, headers={"If-Match": got.headers["ETag"]})
    assert stale.status_code == 412
    assert stale.json["error"]["code"] == "precondition_failed"
    db.session.expire_all()
    assert getattr(db.session.get(model, record.id), field) == theirs


def test_a_customers_contacts_alone_bump_its_version(world):
    office, customer_id = world["office"], world["customer"]["id"]
    response = office.patch(
        f"/customers/{customer_id}",
        json={"contacts": [{"name": "Eva Ek"}]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200
    assert response.headers["ETag"] == '"2"'


def test_the_openapi_document_describes_etag_and_if_match(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/orders/{order_id}", "/api/v1/customers/{customer_id}"):
        patch = spec["paths"][path]["patch"]
        assert "If-Match" in [p["name"] for p in patch["parameters"] if p["in"] == "header"]
        assert "412" in patch["responses"]
        assert "Utan If-Match" in patch["description"]
        assert "ETag" in patch["responses"]["200"]["headers"]
        assert "ETag" in spec["paths"][path]["get"]["responses"]["200"]["headers"]


def test_rows_bump_the_version_without_the_signature_clearing_doing_it(world, monkeypatch):
    """The bump comes from touching the order, not from the side effect of clearing a
    signature (which writes the order row only while it has something to clear)."""
    monkeypatch.setattr(services, "clear_signature", lambda order: None)
    office, order_id = world["office"], world["order"]["id"]
    response = office.patch(
        f"/orders/{order_id}",
        json={"service_objects": [], "actions": [{"description": "Provkörde"}]},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.json
    assert response.headers["ETag"] == '"2"'
