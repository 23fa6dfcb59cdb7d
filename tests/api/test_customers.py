"""/api/v1/customers, /facilities and /service-objects."""

from __future__ import annotations

from sqlalchemy import func, select

from app.customers.models import Customer
from app.extensions import db


def _count() -> int:
    return db.session.scalar(select(func.count()).select_from(Customer))


def test_create_read_update_list_customer_with_contacts_tags_and_custom_fields(api):
    admin = api("admin")
    admin.post("/custom-fields", json={"entity": "customer", "name": "Er referens"})
    body = {
        "customer_number": "2001",
        "name": "Kylservice i Borås AB",
        "organisation_number": "556677-8899",
        "address1": "Industrivägen 4",
        "zip_code": "503 30",
        "city": "Borås",
        "country": "Sverige",
        "email": "info@kylservice.se",
        "phone": "033-123456",
        "contacts": [{"name": "Eva Ek", "phone": "070-1234567", "email": "eva@kylservice.se"}],
        "custom_fields": {"Er referens": "Inköp 42"},
        "tags": ["Avtalskund", "Jour"],
    }
    created = admin.post("/customers", json=body)
    assert created.status_code == 201, created.json
    data = created.json
    assert data["customer_number"] == "2001" and data["city"] == "Borås"
    assert data["contacts"][0]["name"] == "Eva Ek" and isinstance(data["contacts"][0]["id"], int)
    assert data["custom_fields"] == {"Er referens": "Inköp 42"}
    assert data["tags"] == ["Avtalskund", "Jour"]

    got = admin.get(f"/customers/{data['id']}")
    assert got.status_code == 200 and got.json["name"] == "Kylservice i Borås AB"

    contact_id = data["contacts"][0]["id"]
    patched = admin.patch(
        f"/customers/{data['id']}",
        json={
            "city": "Alingsås",
            "tags": ["Jour"],
            "contacts": [{"id": contact_id, "name": "Eva Ek-Berg"}, {"name": "Per Holm"}],
        },
    )
    assert patched.status_code == 200, patched.json
    assert patched.json["city"] == "Alingsås" and patched.json["tags"] == ["Jour"]
    assert [c["name"] for c in patched.json["contacts"]] == ["Eva Ek-Berg", "Per Holm"]
    assert patched.json["contacts"][0]["id"] == contact_id
    assert patched.json["name"] == "Kylservice i Borås AB"  # untouched

    listed = admin.get("/customers?q=kylservice")
    assert listed.json["total"] == 1 and listed.json["items"][0]["id"] == data["id"]


def test_customer_number_defaults_to_the_next_free_number(api):
    admin = api("office")
    admin.post("/customers", json={"customer_number": "1500", "name": "A"})
    second = admin.post("/customers", json={"name": "B"})
    assert second.status_code == 201 and second.json["customer_number"] == "1501"


def test_duplicate_customer_number_is_409_and_writes_nothing(api):
    admin = api("admin")
    assert admin.post("/customers", json={"customer_number": "1", "name": "A"}).status_code == 201
    response = admin.post("/customers", json={"customer_number": "1", "name": "B"})
    assert response.status_code == 409
    assert response.json["error"]["code"] == "conflict"
    assert "customer_number" in response.json["error"]["fields"]
    assert _count() == 1


def test_customer_validation_names_every_bad_field(api):
    admin = api("admin")
    response = admin.post(
        "/customers",
        json={"name": "", "email": "inte-en-adress", "bogus": 1, "zip_code": "x" * 21},
    )
    assert response.status_code == 422
    fields = response.json["error"]["fields"]
    assert set(fields) == {"name", "email", "bogus", "zip_code"}
    assert fields["bogus"] == ["Okänt fält."]
    assert _count() == 0


def test_unknown_custom_field_is_422_and_nothing_is_written(api):
    response = api("admin").post(
        "/customers", json={"name": "A", "custom_fields": {"Finns inte": "x"}}
    )
    assert response.status_code == 422
    assert "custom_fields.Finns inte" in response.json["error"]["fields"]
    assert _count() == 0


def test_foreign_id_that_does_not_exist_is_422(api):
    response = api("admin").post("/customers", json={"name": "A", "subgroup_id": 999})
    assert response.status_code == 422
    assert "subgroup_id" in response.json["error"]["fields"]


def test_malformed_json_is_400_not_500(api):
    admin = api("admin")
    response = admin.post(
        "/customers", data="{not json", headers={"Content-Type": "application/json"}
    )
    # domain-and-api.md: 400 for a malformed body, 422 for one that parses but is invalid.
    assert response.status_code == 400
    assert response.is_json and response.json["error"]["code"] == "bad_request"


def test_body_that_is_not_an_object_is_422(api):
    response = api("admin").post("/customers", json=[1, 2])
    assert response.status_code == 422 and response.is_json


def test_missing_customer_is_404_json(api):
    response = api("technician").get("/customers/4242")
    assert response.status_code == 404
    assert response.json["error"]["code"] == "not_found"


def test_delete_customer_is_for_staff_and_refused_when_it_has_orders(api):
    office = api("office")
    tech = api("technician")
    cid = office.post("/customers", json={"name": "A"}).json["id"]
    assert tech.delete(f"/customers/{cid}").status_code == 403
    office.post("/orders", json={"kind": "work", "customer_id": cid})
    refused = office.delete(f"/customers/{cid}")
    assert refused.status_code == 409
    other = office.post("/customers", json={"name": "B"}).json["id"]
    assert office.delete(f"/customers/{other}").status_code == 204
    assert office.get(f"/customers/{other}").status_code == 404


def test_facility_and_service_object_crud(api):
    tech = api("technician")
    cid = tech.post("/customers", json={"name": "Verkstad AB"}).json["id"]
    facility = tech.post(
        "/facilities", json={"customer_id": cid, "name": "Lagret", "city": "Mölndal"}
    )
    assert facility.status_code == 201, facility.json
    fid = facility.json["id"]
    so = tech.post(
        "/service-objects",
        json={
            "facility_id": fid,
            "name": "ATLAS COPCO GA 10",
            "machine_number": "M12",
            "serial_number": "AII123456",
            "operating_hours": 12345.5,
            "comment": "Står i pannrummet",
        },
    )
    assert so.status_code == 201, so.json
    assert so.json["operating_hours"] == 12345.5
    patched = tech.patch(f"/service-objects/{so.json['id']}", json={"operating_hours": 13000})
    assert patched.json["operating_hours"] == 13000
    assert tech.get(f"/facilities/{fid}").json["service_object_ids"] == [so.json["id"]]
    assert (
        tech.patch(f"/facilities/{fid}", json={"name": "Nya lagret"}).json["name"] == "Nya lagret"
    )
    listed = tech.get(f"/service-objects?facility_id={fid}")
    assert listed.json["total"] == 1
    assert tech.get(f"/facilities?customer_id={cid}").json["total"] == 1


def test_facility_with_missing_customer_is_422(api):
    response = api("admin").post("/facilities", json={"customer_id": 999, "name": "X"})
    assert response.status_code == 422
    assert "customer_id" in response.json["error"]["fields"]


def test_negative_operating_hours_are_422(api):
    admin = api("admin")
    cid = admin.post("/customers", json={"name": "A"}).json["id"]
    fid = admin.post("/facilities", json={"customer_id": cid, "name": "F"}).json["id"]
    response = admin.post(
        "/service-objects", json={"facility_id": fid, "name": "M", "operating_hours": -1}
    )
    assert response.status_code == 422
    assert "operating_hours" in response.json["error"]["fields"]


def test_pagination_envelope_and_limits(api):
    admin = api("admin")
    for i in range(7):
        admin.post("/customers", json={"customer_number": str(100 + i), "name": f"K{i}"})
    page = admin.get("/customers?page=2&per_page=3").json
    assert page["page"] == 2 and page["per_page"] == 3 and page["total"] == 7
    assert [c["customer_number"] for c in page["items"]] == ["103", "104", "105"]
    assert admin.get("/customers?per_page=201").status_code == 422
    assert admin.get("/customers?page=0").status_code == 422
