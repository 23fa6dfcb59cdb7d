"""GET/PUT /api/v1/integrations/fortnox/settings in the OpenAPI document: the request and
response schemas are generated from the fields of FortnoxSettings (issue #19 "Settings declared
once"), while PUT keeps FortnoxSettings as its one validator."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from app.integrations.fortnox import limits
from app.integrations.fortnox.settings import FortnoxSettings

PATH = "/api/v1/integrations/fortnox/settings"
FIELDS = dataclasses.fields(FortnoxSettings)
KEYS = [f.name for f in FIELDS]
# The JSON type each annotation is documented as (lists as their "12;13;14" text).
JSON_TYPES = {bool: "boolean", int: "integer", str: "string", tuple[str, ...]: "string"}


def json_type(key: str) -> str:
    return JSON_TYPES[typing.get_type_hints(FortnoxSettings)[key]]


def resolved(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema["$ref"]
    assert ref.startswith("#/components/schemas/")
    return spec["components"]["schemas"][ref.rsplit("/", 1)[1]]  # type: ignore[no-any-return]


@pytest.fixture
def spec(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


@pytest.mark.parametrize("method", ["get", "put"])
def test_the_settings_answer_documents_every_setting_with_its_type_and_label(spec, method):
    answer = spec["paths"][PATH][method]["responses"]["200"]["content"]["application/json"]
    schema = resolved(spec, answer["schema"])
    properties = schema["properties"]
    assert list(properties) == KEYS  # every setting, in the spec's order
    assert sorted(schema["required"]) == sorted(KEYS)  # the answer always has every key
    for declared in FIELDS:
        documented = properties[declared.name]
        assert documented["type"] == json_type(declared.name), declared.name
        assert documented["title"] == declared.metadata["label"], declared.name
        assert declared.metadata["label"] in documented["description"], declared.name
        assert declared.metadata["help"] in documented["description"], declared.name
        assert "nullable" not in documented, declared.name


def test_the_settings_change_documents_every_setting_as_an_optional_key(spec):
    body = spec["paths"][PATH]["put"]["requestBody"]
    assert body["required"] is True
    schema = resolved(spec, body["content"]["application/json"]["schema"])
    properties = schema["properties"]
    assert list(properties) == KEYS
    assert "required" not in schema  # a partial update: send only what changes
    assert schema["additionalProperties"] is False  # unknown keys are refused
    for declared in FIELDS:
        documented = properties[declared.name]
        assert documented["type"] == json_type(declared.name), declared.name
        assert documented["title"] == declared.metadata["label"], declared.name
        assert declared.metadata["help"] in documented["description"], declared.name
        # null empties a text, number or list; a boolean or a code from a list has no empty.
        nullable = documented["type"] != "boolean" and declared.metadata["choices"] is None
        assert documented.get("nullable", False) is nullable, declared.name
    # The rules declared on a field are in the document too.
    assert properties["serial_number_max_chars"]["minimum"] == 0
    assert properties["cost_center"]["maxLength"] == limits.COST_CENTER_CODE
    assert properties["time_report_cause_code"]["enum"] == sorted(limits.ATTENDANCE_CAUSE_CODES)
    assert "include_service_object_on_row" in properties["include_machine_number"]["description"]


def test_the_answers_are_what_the_document_says(spec, api):
    admin = api("admin")
    answer = spec["paths"][PATH]["get"]["responses"]["200"]["content"]["application/json"]
    validator = Draft202012Validator(resolved(spec, answer["schema"]))
    read = admin.get("/integrations/fortnox/settings")
    assert read.status_code == 200
    assert sorted(read.json) == sorted(KEYS)  # Flask writes JSON keys sorted
    validator.validate(read.json)
    assert read.json == FortnoxSettings().to_dict()
    changed = admin.put(
        "/integrations/fortnox/settings",
        json={
            "order_text": "  Indrag\n",
            "no_price_article_numbers": ["12", " 13 "],
            "serial_number_max_chars": None,
            "time_report_cause_code": "arb",
            "sort_by_actions": True,
        },
    )
    assert changed.status_code == 200
    validator.validate(changed.json)
    assert changed.json["order_text"] == "  Indrag\n"  # the answer is not stripped
    assert changed.json["no_price_article_numbers"] == "12;13"
    assert changed.json["serial_number_max_chars"] == 0
    assert changed.json["time_report_cause_code"] == "ARB"
    assert admin.get("/integrations/fortnox/settings").json == changed.json


def test_a_change_is_still_checked_by_the_settings_with_their_swedish_messages(api):
    """The request schema documents; FortnoxSettings validates. marshmallow's Boolean would
    take "true" and its Integer "8": the settings refuse both, naming the setting."""
    admin = api("admin")
    bad = admin.put(
        "/integrations/fortnox/settings",
        json={"sort_by_actions": "true", "serial_number_max_chars": "8", "nope": 1},
    )
    assert bad.status_code == 422
    assert bad.json["error"]["message"] == "Inställningarna är inte giltiga."
    assert bad.json["error"]["fields"] == {
        "sort_by_actions": ["Sortera på åtgärder (sort_by_actions) måste vara sant eller falskt."],
        "serial_number_max_chars": [
            "Maximalt antal tecken vid visning av serviceobjektets serienummer "
            "(serial_number_max_chars) måste vara ett heltal, 0 eller större."
        ],
        "nope": ["Okänd inställning: nope."],
    }
    not_an_object = admin.put("/integrations/fortnox/settings", json=["sort_by_actions"])
    assert not_an_object.status_code == 422
    assert not_an_object.json["error"]["message"] == "Skicka ett JSON-objekt med inställningar."
    assert admin.get("/integrations/fortnox/settings").json == FortnoxSettings().to_dict()
