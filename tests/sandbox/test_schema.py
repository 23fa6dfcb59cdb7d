"""fortnox_sandbox.schema: request bodies checked strictly against Fortnox's official OpenAPI
file and the sandbox's own description.

The rule tests run three times: with every description available (``using=None``: both where
the official file exists, the own one in a fresh clone), the own description alone, and the
official file alone (skipped without the file, failed under CI=true)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from fortnox_sandbox import create_app, schema
from fortnox_sandbox.schema import (
    SchemaUnavailable,
    Using,
    openapi_path,
)


@pytest.fixture(params=[None, "own", "official"], ids=["in-use", "own", "official"])
def using(request: pytest.FixtureRequest) -> Using:
    if request.param == "official":
        request.getfixturevalue("official_openapi")
    return request.param


@pytest.fixture
def check_request(using: Using) -> Callable[..., list[schema.SchemaError]]:
    return lambda *args, **kwargs: schema.check_request(*args, using=using, **kwargs)


@pytest.fixture
def validate_request(using: Using) -> Callable[..., list[str]]:
    return lambda *args, **kwargs: schema.validate_request(*args, using=using, **kwargs)


@pytest.fixture
def validate_component(using: Using) -> Callable[..., list[str]]:
    return lambda *args, **kwargs: schema.validate_component(*args, using=using, **kwargs)


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


def test_a_valid_order_has_no_problems(validate_request: Callable[..., Any]) -> None:
    assert validate_request("POST", "/3/orders", VALID_ORDER) == []


def test_unknown_fields_are_errors_although_the_spec_does_not_close_its_objects(
    check_request: Callable[..., Any],
) -> None:
    body = {"Order": {**VALID_ORDER["Order"], "Quantity": 1}}
    body["Order"]["OrderRows"] = [{"ArticleNumber": "100", "Bogus": "x"}]

    problems = check_request("POST", "/3/orders", body)

    assert {(p.kind, p.location) for p in problems} == {
        ("unknown_field", "Order.Quantity"),
        ("unknown_field", "Order.OrderRows[0].Bogus"),
    }


def test_read_only_fields_are_unknown_to_the_write_schema(
    validate_request: Callable[..., Any],
) -> None:
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
def test_spec_field_lengths_are_enforced(
    field: str, limit: int, validate_request: Callable[..., Any]
) -> None:
    ok = {"Order": {"CustomerNumber": "1", field: "x" * limit}}
    too_long = {"Order": {"CustomerNumber": "1", field: "x" * (limit + 1)}}

    assert validate_request("POST", "/3/orders", ok) == []
    assert validate_request("POST", "/3/orders", too_long) == [
        f"Order.{field}: {limit + 1} characters, longer than the limit of {limit}"
    ]


def test_facts_limits_missing_from_the_spec_are_enforced_too(
    check_request: Callable[..., Any],
) -> None:
    # FACTS.md §4/§5: ExternalInvoiceReference1 max 80 (the order schema leaves it open).
    body = {"Order": {"CustomerNumber": "1", "ExternalInvoiceReference1": "r" * 81}}

    problems = check_request("POST", "/3/orders", body)

    assert [(p.kind, p.field, p.detail) for p in problems] == [
        ("too_long", "ExternalInvoiceReference1", 80)
    ]


def test_legacy_limits_only_apply_when_asked(validate_request: Callable[..., Any]) -> None:
    body = {"Order": {"CustomerNumber": "1", "OrderRows": [{"Description": "d" * 51}]}}

    assert validate_request("POST", "/3/orders", body) == []
    assert validate_request("POST", "/3/orders", body, legacy=True) == [
        "Order.OrderRows[0].Description: 51 characters, longer than the limit of 50"
    ]


def test_customer_number_is_required_on_create_but_not_on_update(
    validate_request: Callable[..., Any],
) -> None:
    assert validate_request("POST", "/3/orders", {"Order": {"Remarks": "x"}}) == [
        "Order.CustomerNumber: required field 'CustomerNumber' is missing"
    ]
    # Spec: a PUT changes only the properties it carries.
    assert validate_request("PUT", "/3/orders/12", {"Order": {"Remarks": "x"}}) == []


def test_the_wrapper_is_required(check_request: Callable[..., Any]) -> None:
    problems = check_request("POST", "/3/orders", {"CustomerNumber": "1"})

    assert {(p.kind, p.field) for p in problems} == {
        ("unknown_field", "CustomerNumber"),
        ("missing", "Order"),
    }
    assert [p.kind for p in check_request("POST", "/3/orders", {})] == ["no_body"]


def test_actions_take_an_empty_body(validate_request: Callable[..., Any]) -> None:
    assert validate_request("PUT", "/3/orders/12/createinvoice", None) == []
    assert validate_request("PUT", "/3/invoices/7/bookkeep", {}) == []


def test_types_dates_enums_and_nullability_follow_the_spec(
    check_request: Callable[..., Any],
) -> None:
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


def test_templated_paths_and_query_strings_are_matched(
    using: Using, validate_request: Callable[..., Any]
) -> None:
    assert schema.operation_template("GET", "/3/orders/42/print", using=using) == (
        "/3/orders/{DocumentNumber}/print"
    )
    assert schema.operation_template("GET", "/3/prices/sublist/A/100", using=using) == (
        "/3/prices/sublist/{PriceList}/{ArticleNumber}"
    )
    body = {"AttendanceTransaction": {"EmployeeId": "1", "Date": "2026-11-20", "CauseCode": "TID"}}
    assert validate_request("POST", "/3/attendancetransactions?x=1", body) == []


def test_operation_look_ups(using: Using) -> None:
    assert schema.success_status("POST", "/3/orders", using=using) == 201
    assert schema.success_status("POST", "/3/attendancetransactions", using=using) == 200
    assert schema.success_status("DELETE", "/3/customers/1", using=using) == 204
    assert schema.request_schema_name("PUT", "/3/invoices/7/bookkeep", using=using) == (
        "fortnox_Kf_InvoiceSinglePayloadItem_Wrap"
    )
    assert schema.request_schema_name("GET", "/3/invoices/7", using=using) is None
    assert {"externalinvoicereference1", "lastmodified", "filter"} <= (
        schema.query_parameters("GET", "/3/orders", using=using)
    )
    assert schema.query_parameters("GET", "/3/costcenters", using=using) == frozenset()
    assert schema.component_properties("OrderRow", using=using)[:3] == (
        "AccountNumber",
        "ArticleNumber",
        "Cost",
    )
    # Calls the sandbox does not emulate are still known (the sandbox answers them 501).
    assert schema.operation_template("GET", "/3/vouchers", using=using) == "/3/vouchers"
    assert schema.operation_template("GET", "/3/nothing", using=using) is None


def test_an_operation_fortnox_does_not_have_is_reported(
    validate_request: Callable[..., Any],
) -> None:
    assert validate_request("DELETE", "/3/orders/1", None) == [
        "Fortnox has no operation DELETE /3/orders/1"
    ]
    assert validate_request("GET", "/3/orders/1", {"Order": {}}) == [
        "GET /3/orders/1 takes no body"
    ]


def test_validate_component_uses_short_names_and_spec_names(
    validate_component: Callable[..., Any],
) -> None:
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
    official_openapi: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    default = openapi_path()
    assert default == official_openapi
    assert default.name == "openapi.json" and default.is_file()
    assert schema.descriptions() == ("official", "own")

    monkeypatch.setenv("FORTNOX_OPENAPI_PATH", str(tmp_path / "missing.json"))
    with pytest.raises(SchemaUnavailable, match="FORTNOX_OPENAPI_PATH"):
        openapi_path()
    with pytest.raises(SchemaUnavailable):
        schema.validate_request("POST", "/3/orders", VALID_ORDER, using="official")


def test_the_official_file_is_read_from_where_the_environment_says(
    official_openapi: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    copied = tmp_path / "fortnox.json"
    copied.write_bytes(official_openapi.read_bytes())
    monkeypatch.setenv("FORTNOX_OPENAPI_PATH", str(copied))

    assert openapi_path() == copied
    assert schema.description_in_use() == (
        f"Fortnox's official OpenAPI ({copied}) and the sandbox's own description"
    )
    assert schema.validate_request("POST", "/3/orders", VALID_ORDER, using="official") == []


def test_without_the_official_file_the_own_description_is_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.json"
    monkeypatch.setenv("FORTNOX_OPENAPI_PATH", str(missing))

    assert schema.descriptions() == ("own",)
    assert schema.description_in_use() == (
        f"the sandbox's own description (official file not found at {missing})"
    )
    assert schema.validate_request("POST", "/3/orders", VALID_ORDER) == []
    assert schema.validate_request("POST", "/3/orders", {"Order": {"Total": 1}}) == [
        "Order.CustomerNumber: required field 'CustomerNumber' is missing",
        "Order.Total: unknown field 'Total'",
    ]
    assert schema.operation_template("GET", "/3/orders/1/print") == (
        "/3/orders/{DocumentNumber}/print"
    )
    # The sandbox starts; only an explicit demand for the official file refuses to.
    assert create_app().extensions["fortnox_sandbox"] is not None
    with pytest.raises(SchemaUnavailable):
        create_app({"SANDBOX_REQUIRE_OFFICIAL_OPENAPI": True})


def test_an_unreadable_official_file_is_an_error_not_a_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "openapi.json"
    broken.write_text("{not json", encoding="utf-8")
    monkeypatch.setenv("FORTNOX_OPENAPI_PATH", str(broken))

    with pytest.raises(SchemaUnavailable, match="cannot read"):
        schema.validate_request("POST", "/3/orders", VALID_ORDER)


def test_an_operation_only_the_official_file_describes() -> None:
    body = {"Offer": {"CustomerNumber": "1"}}

    assert [p.kind for p in schema.check_request("POST", "/3/offers", body, using="own")] == [
        "not_described"
    ]
    assert schema.request_schema_name("POST", "/3/offers", using="own") is None


@pytest.fixture
def stricter_own(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The own description with Order.Remarks limited to 10 characters."""
    original = schema.description.components()
    changed = copy.deepcopy(original)
    changed["fortnox_Order_OrderSinglePayloadItem"]["properties"]["Remarks"]["maxLength"] = 10
    schema._validator.cache_clear()
    monkeypatch.setattr(schema.description, "components", lambda: changed)
    yield
    monkeypatch.undo()
    schema._validator.cache_clear()


@pytest.mark.usefixtures("official_openapi", "stricter_own")
def test_with_both_descriptions_a_failure_from_either_is_a_failure() -> None:
    body = {"Order": {"CustomerNumber": "1", "Remarks": "elva tecken"}}

    assert schema.validate_request("POST", "/3/orders", body, using="official") == []
    assert schema.validate_request("POST", "/3/orders", body) == [
        "Order.Remarks: 11 characters, longer than the limit of 10"
    ]
    # The same failure from both is reported once.
    both = {"Order": {"CustomerNumber": "1", "Bogus": 1}}
    assert schema.validate_request("POST", "/3/orders", both) == [
        "Order.Bogus: unknown field 'Bogus'"
    ]


def test_validation_is_fast_enough_for_property_tests(validate_request: Callable[..., Any]) -> None:
    import time

    rows = [{"ArticleNumber": "100", "DeliveredQuantity": "1", "Description": "x"}] * 30
    body = {"Order": {"CustomerNumber": "1", "OrderRows": rows}}
    validate_request("POST", "/3/orders", body)  # compile once
    started = time.perf_counter()
    for _ in range(200):
        assert validate_request("POST", "/3/orders", body) == []
    assert time.perf_counter() - started < 2.0
