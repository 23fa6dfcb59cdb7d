"""The sandbox's own description of Fortnox (fortnox_sandbox/description.py) against Fortnox's
official OpenAPI file, wherever that file exists.

A fresh clone validates with the own description alone, so it must never be more lenient
than the official one. Checked here:

* the same operations (template, body component, success status, query parameters) and the
  same property lists and required fields for every component the sandbox uses;
* every body the app sends (the mapped orders and invoices of test_request_shapes under every
  settings profile, their PUT shapes, the actions and time reports) and the register bodies
  (customers, articles, cost centers, …), each with systematic mutations derived from the
  *official* schema: an unknown field and each read-only field at every level, every field
  with a value of the wrong type and null, each limited field one character too long (and at
  its limit), each enum field with a bad value (and every good one), bad dates, numbers out of
  range, each required field left out, the wrapper missing. For each the two descriptions
  must give the same failures (location and kind): own refuses all that the official one
  refuses and accepts what it accepts.

``test_the_comparison_notices_a_lost_rule`` shows the comparison fails when the own
description loses a rule. Tests that need the official file skip without it (with the reason
shown) and fail under CI=true (the ``official_openapi`` fixture).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from app.integrations.fortnox.mapping import map_order, time_report
from app.integrations.fortnox.settings import FortnoxSettings
from fortnox_sandbox import description, documents, resources, schema, seed
from fortnox_sandbox.schema import EXTRA_PROPERTIES
from tests.integrations.test_request_shapes import LOOKUPS, PROFILES, order

Body = tuple[str, str, Any]  # method, path, JSON body


# ------------------------------------------------------------------------------- the bodies
def app_bodies() -> Iterator[tuple[str, Body]]:
    """What Ordna sends to Fortnox (tests/integrations/test_request_shapes.py's shapes)."""
    for kind in ("service", "work", "sales"):
        for profile in sorted(PROFILES):
            settings = FortnoxSettings.from_dict(PROFILES[profile])
            for document_type in ("Order", "Invoice"):
                result = map_order(order(kind), settings, LOOKUPS, document_type=document_type)
                name = f"{document_type.lower()}-{kind}-{profile}"
                yield f"POST {name}", ("POST", result.path, result.payload)
                yield f"PUT {name}", ("PUT", f"{result.path}/7", result.update_payload())
    report = time_report(order(), FortnoxSettings(send_time_report=True))
    for i, transaction in enumerate(report.transactions):
        body = transaction.to_payload()
        yield f"POST attendance-{i}", ("POST", "/3/attendancetransactions", body)
    for action in ("createinvoice", "cancel", "externalprint"):
        yield f"PUT order {action}", ("PUT", f"/3/orders/7/{action}", None)
    for action in ("bookkeep", "cancel", "credit", "externalprint"):
        yield f"PUT invoice {action}", ("PUT", f"/3/invoices/7/{action}", None)


def register_bodies() -> Iterator[tuple[str, Body]]:
    """Register bodies: the seed's records as creates, and the updates the sandbox tests send."""
    for register, key, records in (
        ("customers", "Customer", seed.CUSTOMERS),
        ("articles", "Article", seed.ARTICLES),
        ("costcenters", "CostCenter", seed.COST_CENTERS),
        ("termsofdeliveries", "TermsOfDelivery", seed.TERMS_OF_DELIVERY),
        ("wayofdeliveries", "WayOfDelivery", seed.WAYS_OF_DELIVERY),
        ("units", "Unit", seed.UNITS[:2]),
        ("pricelists", "PriceList", seed.PRICE_LISTS),
        ("employees", "Employee", seed.EMPLOYEES),
    ):
        for i, record in enumerate(records):
            yield f"POST {register}-{i}", ("POST", f"/3/{register}", {key: dict(record)})
    yield "PUT customers", ("PUT", "/3/customers/1", {"Customer": {"City": "Stockholm"}})
    yield "PUT articles", ("PUT", "/3/articles/100", {"Article": {"SalesPrice": 700.0}})
    yield "PUT costcenters", ("PUT", "/3/costcenters/100", {"CostCenter": {"Active": False}})
    for register, key in (
        ("termsofdeliveries", "TermsOfDelivery"),
        ("wayofdeliveries", "WayOfDelivery"),
        ("units", "Unit"),
        ("pricelists", "PriceList"),
    ):
        yield f"PUT {register}", ("PUT", f"/3/{register}/X", {key: {"Description": "Ändrad"}})
    yield "PUT employees", ("PUT", "/3/employees/1", {"Employee": {"JobTitle": "Tekniker"}})
    price = {"PriceList": "A", "ArticleNumber": "200", "FromQuantity": 10, "Price": 300.0}
    yield "POST prices", ("POST", "/3/prices", {"Price": price})
    yield "PUT prices", ("PUT", "/3/prices/A/200/10", {"Price": {"Price": 249.0}})
    yield "PUT first price", ("PUT", "/3/prices/A/200", {"Price": {"Price": 249.0}})
    transaction = {"EmployeeId": "1", "Date": "2026-11-20", "CauseCode": "TID", "Hours": "7.5"}
    yield "POST attendancetransactions", ("POST", "/3/attendancetransactions",
                                          {"AttendanceTransaction": transaction})  # fmt: skip
    yield "PUT attendancetransactions", ("PUT", "/3/attendancetransactions/1",
                                         {"AttendanceTransaction": {"Hours": "8"}})  # fmt: skip


BODIES = dict([*app_bodies(), *register_bodies()])


# ------------------------------------------------------------------------------- mutations
@cache
def official_components(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)["components"]["schemas"]


@cache
def read_only_fields(path: str) -> dict[frozenset[str], tuple[str, ...]]:
    """Write schema (by its property names) -> the fields only its official answer schema has."""
    components = official_components(path)
    out: dict[frozenset[str], tuple[str, ...]] = {}
    for name, node in components.items():
        answer = components.get(name.replace("SinglePayloadItem", "SingleItem"))
        if not name.endswith("SinglePayloadItem") or answer is None:
            continue
        writable = set(node.get("properties", {})) | set(EXTRA_PROPERTIES.get(name, {}))
        extra = tuple(p for p in answer.get("properties", {}) if p not in writable)
        out[frozenset(writable)] = extra
    return out


def _types(node: dict[str, Any]) -> list[str]:
    kind = node.get("type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def values(node: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """Values for one field: wrong ones for every rule its official schema has, and edge
    values it accepts."""
    types = _types(node)
    if "string" in types:
        yield "a number", 12345
        if node.get("maxLength", 2**31 - 1) < 2**31 - 1:  # 2^31-1 is the spec's "no limit"
            yield "one too long", "x" * (node["maxLength"] + 1)
            yield "at the limit", "x" * node["maxLength"]
        if node.get("minLength"):
            yield "one too short", "x" * (node["minLength"] - 1)
        if "enum" in node:
            yield "not in the enum", "NOT-AN-OPTION"
            yield from ((f"= {v}", v) for v in node["enum"] if v is not None)
        if node.get("format") == "date":
            yield "an impossible date", "2026-02-30"
            yield "not a date", "20.11.2026"
            yield "a date", "2026-11-20"
        if node.get("format") == "date-time":
            yield "not a timestamp", "i morgon"
            yield "a timestamp", "2026-11-20T10:00:00"
    if "number" in types or "integer" in types:
        yield "a string", "12"
        yield "a boolean", True
        if "integer" in types:
            yield "a fraction", 1.5
        for rule, step in (("minimum", -1), ("maximum", 1)):
            if rule in node:
                yield f"past the {rule}", node[rule] + step
                yield f"at the {rule}", node[rule]
    if "boolean" in types:
        yield "a string", "true"
        yield "a number", 1
    if "array" in types:
        yield "not an array", "x"
    if "object" in types or "properties" in node:
        yield "not an object", "x"
        yield "an array", []
    yield "null", None


def object_mutations(
    path: str, node: dict[str, Any], obj: dict[str, Any], rebuild: Callable[[Any], Any],
    where: str,
) -> Iterator[tuple[str, Any]]:  # fmt: skip
    props: dict[str, Any] = node.get("properties", {})
    yield f"{where}: unknown field", rebuild({**obj, "Bogus": 1})
    for name in read_only_fields(path).get(frozenset(props), ()):
        yield f"{where}.{name}: read-only", rebuild({**obj, name: 1})
    for name in node.get("required", []):
        if name in obj:
            yield f"{where}.{name}: left out", rebuild({k: v for k, v in obj.items() if k != name})
    for name, sub in props.items():

        def put(value: Any, name: str = name) -> Any:
            return rebuild({**obj, name: value})

        for label, value in values(sub):
            yield f"{where}.{name}: {label}", put(value)
        if "properties" in sub:
            inner = obj.get(name) if isinstance(obj.get(name), dict) else {}
            yield from object_mutations(path, sub, inner, put, f"{where}.{name}")
        items = sub.get("items", {})
        if "properties" in items:
            current = obj.get(name) if isinstance(obj.get(name), list) else []
            first = current[0] if current and isinstance(current[0], dict) else {}

            def put_first(value: Any, put: Callable[[Any], Any] = put, rest: list = current):
                return put([value, *rest[1:]])

            yield from object_mutations(path, items, first, put_first, f"{where}.{name}[0]")


def mutations(path: str, method: str, api_path: str, body: Any) -> Iterator[tuple[str, Any]]:
    """The body as sent, then every mutation of it."""
    yield "as sent", body
    wrap = schema.request_schema_name(method, api_path, using="official")
    assert wrap, f"the official file has no body for {method} {api_path}"
    wrapper = schema.compiled_schema(wrap, using="official")
    (key,) = wrapper["properties"]
    item = body[key] if isinstance(body, dict) and isinstance(body.get(key), dict) else {}
    yield "the wrapper left out", item or {"Bogus": 1}
    yield "another wrapper", {"Bogus": item}
    yield "the wrapper not an object", {key: "x"}
    yield from object_mutations(path, wrapper["properties"][key], item, lambda v: {key: v}, key)


def verdict(method: str, api_path: str, body: Any, using: schema.Using) -> set[tuple[str, str]]:
    return {(e.location, e.kind) for e in schema.check_request(method, api_path, body, using=using)}


def disagreements(path: str, method: str, api_path: str, body: Any) -> list[str]:
    """Mutations on which the two descriptions differ (own missing or adding a failure)."""
    out = []
    for label, mutated in mutations(path, method, api_path, body):
        official = verdict(method, api_path, mutated, "official")
        own = verdict(method, api_path, mutated, "own")
        if official != own:
            out.append(
                f"{label}: official {sorted(official) or 'accepts'}, own {sorted(own) or 'accepts'}"
            )
    return out


# ------------------------------------------------------------------------------- the tests
@pytest.mark.parametrize("name", sorted(BODIES))
def test_bodies_are_valid_for_both_descriptions_and_own_refuses_what_official_refuses(
    official_openapi: Path, name: str
) -> None:
    method, api_path, body = BODIES[name]
    assert schema.validate_request(method, api_path, body, using="official") == []
    assert schema.validate_request(method, api_path, body, using="own") == []

    found = disagreements(str(official_openapi), method, api_path, body)

    assert not found, "\n".join(found)


def test_the_mutations_are_systematic(official_openapi: Path) -> None:
    method, api_path, body = BODIES["POST order-service-everything"]
    labels = [label for label, _ in mutations(str(official_openapi), method, api_path, body)]
    refused = [
        label
        for label, mutated in mutations(str(official_openapi), method, api_path, body)
        if verdict(method, api_path, mutated, "official")
    ]

    for expected in (
        "the wrapper left out",
        "Order: unknown field",
        "Order.Total: read-only",
        "Order.OrderRows[0].Total: read-only",
        "Order.CustomerNumber: left out",
        "Order.Remarks: one too long",
        "Order.ExternalInvoiceReference1: one too long",  # EXTRA_LIMITS
        "Order.OrderRows[0].Description: a number",
        "Order.OrderRows[0].Price: null",
        "Order.OrderRows[0].RowId: a fraction",  # EXTRA_PROPERTIES
        "Order.DeliveryState: not in the enum",
        "Order.OrderDate: an impossible date",
        "Order.EmailInformation.EmailSubject: one too long",
        "Order.Labels[0].Id: a string",
        "Order.OrderRows[0].HouseWorkHoursToReport: past the maximum",
    ):
        assert expected in refused, expected
    assert "Order.Remarks: at the limit" in labels
    assert "Order.Remarks: at the limit" not in refused
    assert len(refused) > 200


@pytest.fixture
def weakened_own(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The own description with Order.Remarks' limit lost."""
    changed = copy.deepcopy(description.components())
    del changed["fortnox_Order_OrderSinglePayloadItem"]["properties"]["Remarks"]["maxLength"]
    schema._validator.cache_clear()
    monkeypatch.setattr(description, "components", lambda: changed)
    yield
    monkeypatch.undo()
    schema._validator.cache_clear()


def test_the_comparison_notices_a_lost_rule(official_openapi: Path, weakened_own: None) -> None:
    method, api_path, body = BODIES["POST order-service-defaults"]

    found = disagreements(str(official_openapi), method, api_path, body)

    assert found == ["Order.Remarks: one too long: official [('Order.Remarks', 'too_long')], "
                     "own accepts"]  # fmt: skip


def _names_in_use() -> set[str]:
    """Every component the sandbox names: bodies, answers and row/e-mail shapes."""
    names = {
        "fortnox_CompanyInformationSingleItem",
        "fortnox_PriceSingleItem",
        "fortnox_PriceListItem",
        "fortnox_DocumentEmailFieldSingleItem",
        *schema.COMPONENT_ALIASES.values(),
    }
    for register in resources.REGISTERS.values():
        names |= {register.single, register.list_item}
    for kind in (documents.ORDER, documents.INVOICE):
        names |= {kind.payload, kind.row_payload, kind.single, kind.row_single, kind.list_item}
    return names


def test_the_own_description_has_every_component_the_sandbox_uses() -> None:
    own = description.components()

    assert sorted(_names_in_use() - set(own)) == []


@pytest.mark.parametrize("name", sorted(description.components()))
def test_components_have_the_official_properties_and_required_fields(
    official_openapi: Path, name: str
) -> None:
    official = official_components(str(official_openapi))[name]
    own = description.components()[name]
    expected = sorted([*official.get("properties", {}), *EXTRA_PROPERTIES.get(name, {})])

    assert list(own["properties"]) == expected
    assert schema.component_properties(name, using="own") == tuple(expected)
    if not name.endswith(("SingleItem", "ListItem")) or name.endswith("PayloadItem"):
        # Write schemas: the same required fields (answers are never validated).
        assert own.get("required", []) == official.get("required", []) or (
            name.endswith("_Wrap") and official.get("required") is None
        )


OWN_OPERATIONS = sorted(description.OPERATIONS, key=lambda o: (o.template, o.method))


def _sample(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "7", template)


@pytest.mark.parametrize(
    "operation", OWN_OPERATIONS, ids=[f"{o.method} {o.template}" for o in OWN_OPERATIONS]
)
def test_operations_are_the_official_ones(
    official_openapi: Path, operation: description.Operation
) -> None:
    method, path = operation.method, _sample(operation.template)

    assert schema.operation_template(method, path, using="official") == operation.template
    assert schema.operation_template(method, path, using="own") == operation.template
    if operation.emulated:
        for look_up in (
            schema.request_schema_name,
            schema.success_status,
            schema.query_parameters,
        ):
            assert look_up(method, path, using="own") == look_up(method, path, using="official")


def test_the_emulated_operations_are_the_sandbox_routes() -> None:
    routes = {
        (r.method, re.sub(r"\(\?P<\w+>\[\^/\]\+\)", "7", r.pattern.pattern).removesuffix("/?"))
        for r in resources.ROUTES
    }
    emulated = {(o.method, _sample(o.template)) for o in description.OPERATIONS if o.emulated}

    assert routes == emulated
