"""fortnox_sandbox.schema: request bodies checked against Fortnox's OpenAPI, strictly."""

from __future__ import annotations

from pathlib import Path

import pytest

from fortnox_sandbox import schema
from fortnox_sandbox.schema import (
    SchemaUnavailable,
    check_request,
    openapi_path,
    validate_component,
    validate_request,
)

VALID_ORDER = {
    "Order": {
        "CustomerNumber": "1",
        "YourReference": "Anna Ek",
        "OurReference": "AO 1042",
        "Remarks": "Bytt filter.\nKontrollerat tryck.",
        "ExternalInvoiceReference1": "ordna:order:1042",
        "OrderRows": [
            {"ArticleNumber": "100", "OrderedQuantity": "2", "DeliveredQuantity": "2"},
            {"Description": "En textrad"},
        ],
    }
}


def test_a_valid_order_has_no_problems() -> None:
    assert validate_request("POST", "/3/orders", VALID_ORDER) == []


def test_unknown_fields_are_errors_although_the_spec_does_not_close_its_objects() -> None:
    body = {"Order": {**VALID_ORDER["Order"], "Quantity": 1}}
    body["Order"]["OrderRows"] = [{"ArticleNumber": "100", "Bogus": "x"}]

    problems = check_request("POST", "/3/orders", body)

    assert {(p.kind, p.location) for p in problems} == {
        ("unknown_field", "Order.Quantity"),
        ("unknown_field", "Order.OrderRows[0].Bogus"),
    }


def test_read_only_fields_are_unknown_to_the_write_schema() -> None:
    body = {"Invoice": {"CustomerNumber": "1", "Total": 100.0, "Booked": True}}

    problems = validate_request("POST", "/3/invoices", body)

    assert problems == [
        "Invoice.Booked: unknown field 'Booked'",
        "Invoice.Total: unknown field 'Total'",
    ]


@pytest.mark.parametrize(
    ("field", "limit"),
    [("YourReference", 50), ("OurReference", 50), ("Remarks", 1024), ("YourOrderNumber", 75)],
)
def test_spec_field_lengths_are_enforced(field: str, limit: int) -> None:
    ok = {"Order": {"CustomerNumber": "1", field: "x" * limit}}
    too_long = {"Order": {"CustomerNumber": "1", field: "x" * (limit + 1)}}

    assert validate_request("POST", "/3/orders", ok) == []
    assert validate_request("POST", "/3/orders", too_long) == [
        f"Order.{field}: {limit + 1} characters, longer than the limit of {limit}"
    ]


def test_facts_limits_missing_from_the_spec_are_enforced_too() -> None:
    # FACTS.md §4/§5: ExternalInvoiceReference1 max 80 (the order schema leaves it open).
    body = {"Order": {"CustomerNumber": "1", "ExternalInvoiceReference1": "r" * 81}}

    problems = check_request("POST", "/3/orders", body)

    assert [(p.kind, p.field, p.detail) for p in problems] == [
        ("too_long", "ExternalInvoiceReference1", 80)
    ]


def test_legacy_limits_only_apply_when_asked() -> None:
    body = {"Order": {"CustomerNumber": "1", "OrderRows": [{"Description": "d" * 51}]}}

    assert validate_request("POST", "/3/orders", body) == []
    assert validate_request("POST", "/3/orders", body, legacy=True) == [
        "Order.OrderRows[0].Description: 51 characters, longer than the limit of 50"
    ]


def test_customer_number_is_required_on_create_but_not_on_update() -> None:
    assert validate_request("POST", "/3/orders", {"Order": {"Remarks": "x"}}) == [
        "Order.CustomerNumber: required field 'CustomerNumber' is missing"
    ]
    # Spec: a PUT changes only the properties it carries.
    assert validate_request("PUT", "/3/orders/12", {"Order": {"Remarks": "x"}}) == []


def test_the_wrapper_is_required() -> None:
    problems = check_request("POST", "/3/orders", {"CustomerNumber": "1"})

    assert {(p.kind, p.field) for p in problems} == {
        ("unknown_field", "CustomerNumber"),
        ("missing", "Order"),
    }
    assert [p.kind for p in check_request("POST", "/3/orders", {})] == ["no_body"]


def test_actions_take_an_empty_body() -> None:
    assert validate_request("PUT", "/3/orders/12/createinvoice", None) == []
    assert validate_request("PUT", "/3/invoices/7/bookkeep", {}) == []


def test_types_dates_enums_and_nullability_follow_the_spec() -> None:
    body = {
        "Order": {
            "CustomerNumber": 1,
            "OrderDate": "2026-02-30",
            "DeliveryState": "shipped",
            "OrderRows": [{"DeliveredQuantity": 2, "Price": None, "CostCenter": None}],
        }
    }

    problems = {(p.location, p.kind) for p in check_request("POST", "/3/orders", body)}

    assert problems == {
        ("Order.CustomerNumber", "wrong_type"),
        ("Order.OrderDate", "invalid_format"),
        ("Order.DeliveryState", "invalid_value"),
        ("Order.OrderRows[0].DeliveredQuantity", "wrong_type"),  # a string in the spec
        ("Order.OrderRows[0].Price", "wrong_type"),  # not nullable; CostCenter is
    }


def test_templated_paths_and_query_strings_are_matched() -> None:
    assert schema.operation_template("GET", "/3/orders/42/print") == (
        "/3/orders/{DocumentNumber}/print"
    )
    assert schema.operation_template("GET", "/3/prices/sublist/A/100") == (
        "/3/prices/sublist/{PriceList}/{ArticleNumber}"
    )
    body = {"AttendanceTransaction": {"EmployeeId": "1", "Date": "2026-11-20", "CauseCode": "TID"}}
    assert validate_request("POST", "/3/attendancetransactions?x=1", body) == []


def test_an_operation_fortnox_does_not_have_is_reported() -> None:
    assert validate_request("DELETE", "/3/orders/1", None) == [
        "Fortnox has no operation DELETE /3/orders/1"
    ]
    assert validate_request("GET", "/3/orders/1", {"Order": {}}) == [
        "GET /3/orders/1 takes no body"
    ]


def test_validate_component_uses_short_names_and_spec_names() -> None:
    assert validate_component("Order", {"CustomerNumber": "1"}) == []
    assert validate_component("OrderRow", {"Description": "x" * 256}) == [
        "OrderRow.Description: 256 characters, longer than the limit of 255"
    ]
    assert validate_component(
        "fortnox_Kf_InvoiceSinglePayloadItem_Wrap", {"Invoice": {"X": 1}}
    ) == [
        "Invoice.CustomerNumber: required field 'CustomerNumber' is missing",
        "Invoice.X: unknown field 'X'",
    ]
    with pytest.raises(KeyError):
        validate_component("NoSuchThing", {})


def test_openapi_path_follows_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    default = openapi_path()
    assert default.name == "openapi.json" and default.is_file()

    monkeypatch.setenv("FORTNOX_OPENAPI_PATH", str(tmp_path / "missing.json"))
    with pytest.raises(SchemaUnavailable, match="FORTNOX_OPENAPI_PATH"):
        openapi_path()
    with pytest.raises(SchemaUnavailable):
        validate_request("POST", "/3/orders", VALID_ORDER)


def test_validation_is_fast_enough_for_property_tests() -> None:
    import time

    rows = [{"ArticleNumber": "100", "DeliveredQuantity": "1", "Description": "x"}] * 30
    body = {"Order": {"CustomerNumber": "1", "OrderRows": rows}}
    validate_request("POST", "/3/orders", body)  # compile once
    started = time.perf_counter()
    for _ in range(200):
        assert validate_request("POST", "/3/orders", body) == []
    assert time.perf_counter() - started < 2.0
