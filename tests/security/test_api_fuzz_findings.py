"""Inputs the generated API campaign (tests/security/test_api_fuzz.py) found answering 500,
each pinned by a plain test (issue #17 "no 500 for any input")."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("entity", ["null", "order", "CUSTOMER", "x" * 300])
def test_an_unknown_custom_field_entity_filter_is_422_not_500(api, entity):
    """GET /api/v1/custom-fields?entity=null compared the enum column with a value PostgreSQL's
    enum does not have (LookupError → 500)."""
    response = api("admin").get("/custom-fields", query_string={"entity": entity})
    assert response.status_code == 422
    assert response.json["error"]["code"] == "validation_error"
    assert "entity" in response.json["error"]["fields"]


def test_a_known_custom_field_entity_still_filters(api):
    admin = api("admin")
    for entity, name in (("customer", "Avtal"), ("facility", "Portkod")):
        created = admin.post("/custom-fields", json={"entity": entity, "name": name})
        assert created.status_code == 201, created.json
    response = admin.get("/custom-fields", query_string={"entity": "facility"})
    assert response.status_code == 200
    assert [item["name"] for item in response.json["items"]] == ["Portkod"]
