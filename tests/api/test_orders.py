"""/api/v1/orders: create, read, update, list, rows, comments, signing, status, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.auth.models import Subgroup
from app.extensions import db
from app.orders.models import Order


@pytest.fixture
def world(api):
    """An office user, two subgroups with a technician each, a customer with a facility, a
    service object and a contact, and two articles."""
    admin = api("admin")
    west = admin.post("/subgroups", json={"name": "Väst"}).json["id"]
    south = admin.post("/subgroups", json={"name": "Syd"}).json["id"]
    tech = api(
        "technician",
        subgroup=db.session.get(Subgroup, west),
        cost_center="SERV",
    )
    other_tech = api(
        "technician",
        subgroup=db.session.get(Subgroup, south),
    )
    office = api("office")
    customer = office.post(
        "/customers", json={"name": "Verkstad AB", "contacts": [{"name": "Eva Ek"}]}
    ).json
    facility = office.post(
        "/facilities", json={"customer_id": customer["id"], "name": "Lagret"}
    ).json
    so = office.post("/service-objects", json={"facility_id": facility["id"], "name": "GA 10"}).json
    office.post(
        "/articles",
        json={"article_number": "1001", "name": "Oljefilter", "unit": "st", "price": 250},
    )
    office.post(
        "/articles",
        json={"article_number": "T01", "name": "Arbetstid", "unit": "tim", "price": 850},
    )
    return {
        "admin": admin,
        "office": office,
        "tech": tech,
        "other_tech": other_tech,
        "west": west,
        "south": south,
        "customer": customer,
        "contact_id": customer["contacts"][0]["id"],
        "facility": facility,
        "so": so,
    }


def _order_body(w, **extra):
    body = {
        "kind": "work",
        "customer_id": w["customer"]["id"],
        "facility_id": w["facility"]["id"],
        "contact_id": w["contact_id"],
        "orderer": "Per Holm",
        "customer_order_number": "PO-123",
        "description": "Kompressorn löser ut",
        "fault_cause": "Trasig tryckvakt",
        "actions": [
            {"date": "2026-11-20", "description": "Felsökt", "hours": 1.5},
            {"date": "2026-11-21", "description": "Bytt tryckvakt", "hours": 2},
        ],
        "article_rows": [
            {
                "article_number": "1001",
                "quantity": 2,
                "date": "2026-11-20",
                "service_object_id": w["so"]["id"],
            },
            {"article_number": "T01", "quantity": 3.5, "price": 900, "date": "2026-11-21"},
        ],
        "service_objects": [{"service_object_id": w["so"]["id"], "operating_hours": 12345}],
    }
    body.update(extra)
    return body


def test_technician_creates_a_full_order_and_reads_it_back(world):
    tech = world["tech"]
    response = tech.post("/orders", json=_order_body(world))
    assert response.status_code == 201, response.json
    order = response.json
    assert order["display_number"] == "AO 1001" and order["status"] == "draft"
    assert order["subgroup_id"] == world["west"]  # the creator's subgroup
    assert [a["description"] for a in order["actions"]] == ["Felsökt", "Bytt tryckvakt"]
    assert order["actions"][0]["technician_id"] == tech.user.id  # defaults to the caller
    rows = order["article_rows"]
    # Price and unit from the article unless given; cost center from the technician.
    assert (rows[0]["price"], rows[0]["unit"], rows[0]["cost_center"]) == (250.0, "st", "SERV")
    assert (rows[1]["price"], rows[1]["quantity"], rows[1]["unit"]) == (900.0, 3.5, "tim")
    assert order["service_objects"] == [
        {"service_object_id": world["so"]["id"], "name": "GA 10", "operating_hours": 12345.0}
    ]
    assert order["fortnox"]["state"] == "not_sent"
    assert order["fortnox"]["reference"]
    again = tech.get(f"/orders/{order['id']}").json
    assert again == order


def test_update_replaces_lists_and_keeps_the_rest(world):
    tech = world["tech"]
    order = tech.post("/orders", json=_order_body(world)).json
    patched = tech.patch(
        f"/orders/{order['id']}",
        json={"article_rows": [{"article_number": "1001", "quantity": 1}], "orderer": "Lena"},
    )
    assert patched.status_code == 200, patched.json
    assert len(patched.json["article_rows"]) == 1 and patched.json["orderer"] == "Lena"
    assert len(patched.json["actions"]) == 2
    assert patched.json["description"] == "Kompressorn löser ut"


def test_list_filters_and_technicians_see_only_their_subgroup(world):
    world["tech"].post("/orders", json=_order_body(world))
    world["other_tech"].post("/orders", json=_order_body(world, kind="service"))
    office = world["office"]
    assert office.get("/orders").json["total"] == 2
    assert office.get("/orders?kind=service").json["total"] == 1
    assert office.get(f"/orders?subgroup_id={world['west']}").json["total"] == 1
    mine = world["tech"].get("/orders").json
    assert mine["total"] == 1 and mine["items"][0]["kind"] == "work"
    other_id = world["other_tech"].get("/orders").json["items"][0]["id"]
    assert world["tech"].get(f"/orders/{other_id}").status_code == 403
    assert world["tech"].patch(f"/orders/{other_id}", json={"orderer": "x"}).status_code == 403


def test_technician_cannot_create_in_another_subgroup(world):
    response = world["tech"].post("/orders", json=_order_body(world, subgroup_id=world["south"]))
    assert response.status_code == 403


@pytest.mark.parametrize(
    "change, field",
    [
        ({"kind": "repair"}, "kind"),
        ({"customer_id": None}, "customer_id"),
        ({"customer_id": 999}, "customer_id"),
        ({"facility_id": 999}, "facility_id"),
        ({"assigned_user_id": 999}, "assigned_user_id"),
        ({"delivery_date": "2026-12-01"}, "delivery_date"),  # only on sales orders
        ({"delivery_date": "igår"}, "delivery_date"),
        ({"article_rows": [{"article_number": "1001", "quantity": -1}]}, "article_rows.0.quantity"),
        (
            {"article_rows": [{"article_number": "NOPE", "quantity": 1}]},
            "article_rows.0.article_number",
        ),
        ({"article_rows": [{"quantity": 1}]}, "article_rows.0.article_number"),
        (
            {"article_rows": [{"article_number": "1001", "quantity": 1, "technician_id": 999}]},
            "article_rows.0.technician_id",
        ),
        ({"actions": [{"description": "", "hours": 1}]}, "actions.0.description"),
        ({"actions": [{"description": "x", "hours": -2}]}, "actions.0.hours"),
        ({"service_objects": [{"service_object_id": 999}]}, "service_objects.0.service_object_id"),
        ({"status": "paid"}, "status"),
        ({"custom_fields": {"Okänt": "x"}}, "custom_fields.Okänt"),
        ({"extra": 1}, "extra"),
    ],
)
def test_bad_order_is_422_naming_the_field_and_writes_nothing(world, change, field):
    response = world["office"].post("/orders", json=_order_body(world, **change))
    assert response.status_code == 422, response.json
    assert field in response.json["error"]["fields"], response.json
    assert db.session.scalar(select(func.count()).select_from(Order)) == 0


def test_facility_of_another_customer_is_422(world):
    office = world["office"]
    other = office.post("/customers", json={"name": "Annan AB"}).json
    response = office.post(
        "/orders",
        json={"kind": "work", "customer_id": other["id"], "facility_id": world["facility"]["id"]},
    )
    assert response.status_code == 422
    assert response.json["error"]["fields"] == {
        "facility_id": ["Anläggningen hör inte till kunden."]
    }


def test_sales_order_takes_a_delivery_date(world):
    response = world["office"].post(
        "/orders",
        json={
            "kind": "sales",
            "customer_id": world["customer"]["id"],
            "delivery_date": "2026-12-01",
        },
    )
    assert response.status_code == 201
    assert (
        response.json["delivery_date"] == "2026-12-01"
        and response.json["display_number"] == "FO 1001"
    )


def test_comments_are_added_with_author_and_time(world):
    tech = world["tech"]
    order = tech.post("/orders", json=_order_body(world)).json
    response = tech.post(f"/orders/{order['id']}/comments", json={"text": "Kunden vill ha offert"})
    assert response.status_code == 201
    assert response.json["author_id"] == tech.user.id and response.json["created_at"]
    assert tech.post(f"/orders/{order['id']}/comments", json={"text": ""}).status_code == 422
    assert tech.get(f"/orders/{order['id']}").json["comments"][0]["text"] == "Kunden vill ha offert"


def test_signing_records_signer_time_and_customer_name(world):
    tech = world["tech"]
    order = tech.post("/orders", json=_order_body(world)).json
    signed = tech.post(f"/orders/{order['id']}/sign", json={"customer_name": "Eva Ek"})
    assert signed.status_code == 200, signed.json
    signature = signed.json["signature"]
    assert signature["user_id"] == tech.user.id and signature["customer_name"] == "Eva Ek"
    assert signature["signed_at"]
    assert tech.post(f"/orders/{order['id']}/sign", json={"customer_name": ""}).status_code == 422


def test_only_admin_and_office_sign_for_someone_else(world):
    tech = world["tech"]
    order = tech.post("/orders", json=_order_body(world)).json
    other = world["other_tech"].user.id
    assert (
        tech.post(
            f"/orders/{order['id']}/sign", json={"customer_name": "E", "user_id": other}
        ).status_code
        == 403
    )
    by_office = world["office"].post(
        f"/orders/{order['id']}/sign", json={"customer_name": "E", "user_id": tech.user.id}
    )
    assert by_office.status_code == 200 and by_office.json["signature"]["user_id"] == tech.user.id


def test_changing_the_work_of_a_signed_order_clears_the_signature(world):
    tech = world["tech"]
    order = tech.post("/orders", json=_order_body(world)).json
    tech.post(f"/orders/{order['id']}/sign", json={"customer_name": "Eva Ek"})
    kept = tech.patch(f"/orders/{order['id']}", json={"orderer": "Lena"}).json
    assert kept["signature"] is not None  # header text doesn't touch the work signed for
    cleared = tech.patch(
        f"/orders/{order['id']}", json={"actions": [{"description": "Mer arbete", "hours": 1}]}
    ).json
    assert cleared["signature"] is None


def test_status_follows_the_rules(world):
    office = world["office"]
    oid = office.post("/orders", json=_order_body(world)).json["id"]
    assert (
        office.patch(f"/orders/{oid}", json={"status": "in_progress"}).json["status"]
        == "in_progress"
    )
    assert office.patch(f"/orders/{oid}", json={"status": "ready"}).json["status"] == "ready"
    sent = office.patch(f"/orders/{oid}", json={"status": "sent"})
    assert sent.status_code == 409 and sent.json["error"]["code"] == "invalid_status_change"
    assert office.patch(f"/orders/{oid}", json={"status": "cancelled"}).status_code == 200
    locked = office.patch(f"/orders/{oid}", json={"orderer": "x"})
    assert locked.status_code == 409 and locked.json["error"]["code"] == "order_locked"


def test_custom_fields_per_order_kind(world):
    world["admin"].post("/custom-fields", json={"entity": "work_order", "name": "Er referens"})
    office = world["office"]
    ok = office.post("/orders", json=_order_body(world, custom_fields={"Er referens": "Ref 9"}))
    assert ok.status_code == 201 and ok.json["custom_fields"] == {"Er referens": "Ref 9"}
    wrong_kind = office.post(
        "/orders", json=_order_body(world, kind="service", custom_fields={"Er referens": "x"})
    )
    assert wrong_kind.status_code == 422


def test_a_job_is_readable_by_who_asked_for_it_and_admins_only(world, app, api):
    from app.jobs import enqueue

    office = world["office"]
    job_id = enqueue(sum, [1, 2, 3], owner_id=office.user.id)
    response = office.get(f"/jobs/{job_id}")
    assert response.json == {"status": "finished", "result": 6, "error": None}
    assert api("admin").get(f"/jobs/{job_id}").status_code == 200
    # Another token holder cannot read it (issue #17): as if it did not exist.
    assert world["tech"].get(f"/jobs/{job_id}").status_code == 404
    assert api("office").get(f"/jobs/{job_id}").status_code == 404
    assert office.get("/jobs/nope").status_code == 404
