"""Validation of Fortnox API v3 request bodies against Fortnox's official OpenAPI description.

The OpenAPI file is Fortnox's, not ours, so it is never copied into the repository: it is read at
run time from ``FORTNOX_OPENAPI_PATH`` (default ``<repo root>/../shared/fortnox/openapi.json``).

Validation is stricter than a plain JSON Schema reading of the file, because the sandbox must
never be more lenient than Fortnox:

* **Unknown fields are errors.** The spec never says ``additionalProperties: false`` on the
  ``fortnox_*`` schemas, but Fortnox answers an unknown field name with error 2001399
  "Felaktigt fältnamn" (FACTS.md §3). Every object schema that lists its properties is therefore
  closed. Read-only fields (``Total``, ``Sent``, ``@url``…) are absent from the ``…PayloadItem``
  write schemas (FACTS.md §4, §5), so sending them back is an unknown-field error too.
* **Field lengths** come from the spec's ``maxLength``; :data:`EXTRA_LIMITS` adds the limits
  FACTS.md documents that this snapshot of the spec leaves out.
* **Required fields are a create rule**: the spec's PUT descriptions say only the properties
  sent are changed, so ``required`` is checked on POST, not on PUT.
* **The wrapper is required**: ``POST /3/orders`` needs ``{"Order": {...}}``; an empty body is
  Fortnox's 2001392 (FACTS.md §2, §3). Action endpoints (``…/createinvoice``, ``…/bookkeep``…)
  are called with an empty body (SOURCE.md), so for them an empty body is valid.
* OpenAPI 3.0 ``nullable`` is honoured; a ``null`` for a non-nullable field is an error.
  ``format: date`` must be a real ``YYYY-MM-DD`` date.

Public API: :func:`openapi_path`, :func:`validate_request`, :func:`validate_component`, plus
:func:`check_request` / :func:`check_component` that return :class:`SchemaError` objects carrying
the field and the kind of failure (the sandbox maps those to Fortnox error codes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

__all__ = [
    "COMPONENT_ALIASES",
    "EXTRA_LIMITS",
    "LEGACY_LIMITS",
    "SchemaError",
    "SchemaUnavailable",
    "check_component",
    "check_request",
    "component_properties",
    "openapi_path",
    "operation_template",
    "query_parameters",
    "request_schema_name",
    "success_status",
    "validate_component",
    "validate_request",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

# Short names accepted by validate_component(); each maps to the spec's *write* schema (the
# ``…SinglePayloadItem``), since that is what a client sends. Full spec names work too.
COMPONENT_ALIASES: dict[str, str] = {
    "Order": "fortnox_Order_OrderSinglePayloadItem",
    "OrderRow": "fortnox_Order_OrderRowSinglePayloadItem",
    "Invoice": "fortnox_Kf_InvoiceSinglePayloadItem",
    "InvoiceRow": "fortnox_Kf_InvoiceRowSinglePayloadItem",
    "Customer": "fortnox_Kf_CustomerSinglePayloadItem",
    "Article": "fortnox_ArticleSinglePayloadItem",
    "CostCenter": "fortnox_CostCenterSinglePayloadItem",
    "TermsOfDelivery": "fortnox_Kf_TermsOfDeliverySinglePayloadItem",
    "WayOfDelivery": "fortnox_WayOfDeliverySinglePayloadItem",
    "Price": "fortnox_PriceSinglePayloadItem",
    "AttendanceTransaction": "fortnox_Lon_AttendanceTransactionsSinglePayloadItem",
    "EmailInformation": "fortnox_DocumentEmailFieldSinglePayloadItem",
}

_DOCUMENT_TEXT_1024 = {
    name: 1024
    for name in (
        "Address1",
        "Address2",
        "City",
        "Comments",
        "CustomerName",
        "DeliveryAddress1",
        "DeliveryAddress2",
        "DeliveryCity",
        "DeliveryName",
        "DeliveryZipCode",
        "Phone1",
        "Phone2",
        "ZipCode",
    )
}

# Limits FACTS.md documents that the spec snapshot does not carry (field -> max characters).
EXTRA_LIMITS: dict[str, dict[str, int]] = {
    # FACTS.md §4 "Field-length caveats": Fortnox support gave ExternalInvoiceReference1/2 80 and
    # Address/Phone/ZipCode 1024 (accodeing/fortnox-api#66); the invoice schema has the same 80
    # and 1024 (FACTS.md §5; CustomerName 1024 is in the same support answer,
    # accodeing/fortnox-api#66), and an order's references are copied onto its invoice by
    # createinvoice, so a longer one could never be invoiced. Currency is max 3 (FACTS.md §4).
    "fortnox_Order_OrderSinglePayloadItem": {
        **_DOCUMENT_TEXT_1024,
        "ExternalInvoiceReference1": 80,
        "ExternalInvoiceReference2": 80,
    },
    # FACTS.md §5: invoices take "the same header set as orders", Currency max 3 (§4), and
    # Address1/2 1024 (accodeing/fortnox-api#66 via FACTS.md §4).
    "fortnox_Kf_InvoiceSinglePayloadItem": {**_DOCUMENT_TEXT_1024, "Currency": 3},
    # FACTS.md §6: Customer OrganisationNumber max 30 (the spec leaves it open).
    "fortnox_Kf_CustomerSinglePayloadItem": {"OrganisationNumber": 30},
}

# "Strict legacy" limits (FACTS.md §4 "Field-length caveats": older Fortnox docs said row
# Description 50; Fortnox support said YourOrderNumber 30). Off by default: FACTS.md asks the
# simulator to enforce the spec values and offer these as an option.
LEGACY_LIMITS: dict[str, dict[str, int]] = {
    "fortnox_Order_OrderSinglePayloadItem": {"YourOrderNumber": 30},
    "fortnox_Kf_InvoiceSinglePayloadItem": {"YourOrderNumber": 30},
    "fortnox_Order_OrderRowSinglePayloadItem": {"Description": 50},
    "fortnox_Kf_InvoiceRowSinglePayloadItem": {"Description": 50},
}

# Fortnox's PUT row-update semantics rely on RowId (FACTS.md §4), and Spec-Feb plus the PUT
# description include it on order rows; only this snapshot's order-row schema dropped it.
EXTRA_PROPERTIES: dict[str, dict[str, dict[str, Any]]] = {
    "fortnox_Order_OrderRowSinglePayloadItem": {"RowId": {"type": "integer", "format": "int32"}},
}


class SchemaUnavailable(RuntimeError):
    """The Fortnox OpenAPI file cannot be found or read."""


@dataclass(frozen=True)
class SchemaError:
    """One validation failure.

    ``location`` is a dotted path from the body's root (``Order.OrderRows[0].Description``),
    ``field`` the offending field name (the last key of the location, or the missing/unknown
    field), ``kind`` one of ``unknown_field``, ``missing``, ``too_long``, ``too_short``,
    ``wrong_type``, ``invalid_value``, ``invalid_format``, ``out_of_range``, ``no_body``,
    ``unexpected_body``, ``no_operation``, ``invalid``.
    """

    location: str
    field: str
    kind: str
    message: str
    detail: Any = None  # the schema's value for the failed rule (type name, maxLength…)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


def openapi_path() -> Path:
    """Where the Fortnox OpenAPI file is: ``FORTNOX_OPENAPI_PATH`` or ``../shared/fortnox/``.

    Raises :class:`SchemaUnavailable` when no file is there.
    """
    configured = os.environ.get("FORTNOX_OPENAPI_PATH")
    path = (
        Path(configured) if configured else REPO_ROOT.parent / "shared" / "fortnox" / "openapi.json"
    )
    if not path.is_file():
        raise SchemaUnavailable(
            f"Fortnox OpenAPI description not found at {path}. Set FORTNOX_OPENAPI_PATH to the "
            "official openapi.json (it is not part of this repository)."
        )
    return path


# --------------------------------------------------------------------------------------------
# Loading and compiling (cached; one lock so concurrent first calls load the spec once)

_lock = threading.RLock()


@cache
def _load_spec(path: str) -> dict[str, Any]:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except (OSError, ValueError) as exc:
        raise SchemaUnavailable(f"cannot read Fortnox OpenAPI description {path}: {exc}") from exc


def _spec() -> dict[str, Any]:
    with _lock:
        return _load_spec(str(openapi_path()))


@dataclass(frozen=True)
class _Operation:
    template: str
    regex: re.Pattern[str]
    literals: int
    schema_name: str | None  # component name of the JSON request body, None if no body
    success: int  # the first 2xx status the spec declares
    is_action: bool
    query: frozenset[str]  # query parameters the spec declares for the operation


@cache
def _operations(path: str) -> dict[str, tuple[_Operation, ...]]:
    spec = _load_spec(path)
    by_method: dict[str, list[_Operation]] = {}
    for template, item in spec.get("paths", {}).items():
        segments = template.strip("/").split("/")
        pattern = "/".join(
            "[^/]+" if seg.startswith("{") and seg.endswith("}") else re.escape(seg)
            for seg in segments
        )
        regex = re.compile(f"/{pattern}/?")
        literals = sum(1 for seg in segments if not seg.startswith("{"))
        # An action is a literal segment after a path parameter (…/{DocumentNumber}/cancel).
        is_action = len(segments) >= 2 and not segments[-1].startswith("{") and "{" in template
        for method, op in item.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            query = frozenset(p["name"] for p in op.get("parameters", []) if p.get("in") == "query")
            success = min(
                (int(c) for c in op["responses"] if str(c).isdigit() and str(c).startswith("2")),
                default=200,
            )
            schema_name = None
            for media in op.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    schema_name = ref.rsplit("/", 1)[1]
                    break
            by_method.setdefault(method.upper(), []).append(
                _Operation(template, regex, literals, schema_name, success, is_action, query)
            )
    # Most literal segments first, so /3/prices/sublist/{A}/{B} wins over /3/prices/{A}/{B}/{C}.
    return {m: tuple(sorted(ops, key=lambda o: -o.literals)) for m, ops in by_method.items()}


def _find_operation(method: str, path: str) -> _Operation | None:
    path = path.split("?", 1)[0]
    with _lock:
        ops = _operations(str(openapi_path()))
    for op in ops.get(method.upper(), ()):
        if op.regex.fullmatch(path):
            return op
    return None


def request_schema_name(method: str, path: str) -> str | None:
    """The spec component of the JSON body of ``method path`` (None: no such operation/body)."""
    op = _find_operation(method, path)
    return op.schema_name if op else None


def operation_template(method: str, path: str) -> str | None:
    """The spec path template ``path`` matches for ``method`` (None: Fortnox has no such call)."""
    op = _find_operation(method, path)
    return op.template if op else None


def success_status(method: str, path: str) -> int:
    """The success status the spec declares for ``method path`` (201 for most POSTs)."""
    op = _find_operation(method, path)
    return op.success if op else 200


def query_parameters(method: str, path: str) -> frozenset[str]:
    """Query parameter names the spec declares for ``method path`` (empty when unknown)."""
    op = _find_operation(method, path)
    return op.query if op else frozenset()


def component_properties(name: str) -> tuple[str, ...]:
    """Property names of a spec component (or alias), in the spec's order."""
    components = _spec().get("components", {}).get("schemas", {})
    return tuple(components[_resolve_component(name)].get("properties", {}))


def _convert(
    node: Any, extra_limits: Mapping[str, int] | None = None, extra_props: Mapping | None = None
) -> Any:
    """Turn an OpenAPI 3.0 schema node into a strict JSON Schema 2020-12 node."""
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            out["$ref"] = "#/$defs/" + value.rsplit("/", 1)[1]
        elif key == "properties":
            props = {name: _convert(sub) for name, sub in value.items()}
            for name, sub in (extra_props or {}).items():
                props.setdefault(name, dict(sub))
            for name, limit in (extra_limits or {}).items():
                if name in props:
                    current = props[name].get("maxLength")
                    props[name]["maxLength"] = limit if current is None else min(current, limit)
            out["properties"] = props
        elif key in ("nullable", "description", "example", "readOnly", "writeOnly", "xml"):
            continue
        else:
            out[key] = _convert(value)
    if node.get("nullable") is True and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    if "properties" in out and "additionalProperties" not in out:
        # FACTS.md §3 2001399: Fortnox rejects unknown field names.
        out["additionalProperties"] = False
    return out


def _referenced(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            yield ref.rsplit("/", 1)[1]
        for value in node.values():
            yield from _referenced(value)
    elif isinstance(node, list):
        for value in node:
            yield from _referenced(value)


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        return False
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


_FORMATS = FormatChecker(formats=())
_FORMATS.checks("date")(_is_date)
_FORMATS.checks("date-time")(_is_datetime)


@cache
def _validator(
    path: str, root: str, legacy: bool, require_key: bool, partial: bool = False
) -> Draft202012Validator:
    """A compiled validator for component ``root`` with its referenced components inlined.

    ``require_key``: the wrapper's single key (``Order``) must be present. ``partial``: the
    wrapped item's ``required`` list is dropped, because a PUT changes only the properties it
    carries (spec descriptions of PUT /3/customers/{CustomerNumber}, /3/articles/{…}).
    """
    components = _load_spec(path).get("components", {}).get("schemas", {})
    if root not in components:
        raise KeyError(root)
    defs: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in defs or name not in components:
            continue
        limits = dict(EXTRA_LIMITS.get(name, {}))
        if legacy:
            for field, limit in LEGACY_LIMITS.get(name, {}).items():
                limits[field] = min(limit, limits.get(field, limit))
        defs[name] = _convert(components[name], limits, EXTRA_PROPERTIES.get(name))
        todo.extend(_referenced(components[name]))
    top: dict[str, Any] = {"$ref": f"#/$defs/{root}", "$defs": defs}
    wrapped = components[root].get("properties", {})
    if require_key and len(wrapped) == 1:
        # A wrapper (`…_Wrap`) has exactly one property, the resource key; Fortnox needs it.
        top["required"] = list(wrapped)
    if partial and len(wrapped) == 1:
        item_ref = next(iter(wrapped.values())).get("$ref", "")
        item = item_ref.rsplit("/", 1)[-1]
        if item in defs:
            defs[item] = {k: v for k, v in defs[item].items() if k != "required"}
    return Draft202012Validator(top, format_checker=_FORMATS)


def _location(prefix: str, parts: Iterator[Any] | Any) -> str:
    loc = prefix
    for part in parts:
        if isinstance(part, int):
            loc += f"[{part}]"
        else:
            loc = f"{loc}.{part}" if loc else str(part)
    return loc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _explain(error: ValidationError, prefix: str) -> list[SchemaError]:
    loc = _location(prefix, error.absolute_path)
    field = next((str(p) for p in reversed(error.absolute_path) if isinstance(p, str)), prefix)
    kw = error.validator
    value = error.instance
    if kw == "additionalProperties":
        known = error.schema.get("properties", {})
        return [
            SchemaError(_location(loc, [name]), name, "unknown_field", f"unknown field {name!r}")
            for name in value
            if name not in known
        ]
    if kw == "required":
        missing = [name for name in error.validator_value if name not in value]
        return [
            SchemaError(
                _location(loc, [name]), name, "missing", f"required field {name!r} is missing"
            )
            for name in missing
        ]
    if kw == "maxLength":
        return [
            SchemaError(
                loc,
                field,
                "too_long",
                f"{len(value)} characters, longer than the limit of {error.validator_value}",
                error.validator_value,
            )
        ]
    if kw == "minLength":
        return [
            SchemaError(
                loc, field, "too_short", f"shorter than the minimum of {error.validator_value}"
            )
        ]
    if kw == "type":
        expected = error.validator_value
        return [
            SchemaError(
                loc, field, "wrong_type", f"{_short(value)} is not of type {expected}", expected
            )
        ]
    if kw == "enum":
        allowed = ", ".join(str(v) for v in error.validator_value)
        return [
            SchemaError(loc, field, "invalid_value", f"{_short(value)} is not one of: {allowed}")
        ]
    if kw == "format":
        return [
            SchemaError(
                loc,
                field,
                "invalid_format",
                f"{_short(value)} is not a valid {error.validator_value}",
            )
        ]
    if kw in ("maximum", "minimum", "exclusiveMaximum", "exclusiveMinimum"):
        return [SchemaError(loc, field, "out_of_range", error.message)]
    if kw in ("allOf", "anyOf", "oneOf") and error.context:
        out: list[SchemaError] = []
        for sub in error.context:
            out.extend(_explain(sub, prefix))
        return out
    return [SchemaError(loc, field, "invalid", error.message)]


def _run(validator: Draft202012Validator, instance: Any, prefix: str) -> list[SchemaError]:
    errors: list[SchemaError] = []
    for error in validator.iter_errors(instance):
        errors.extend(_explain(error, prefix))
    return sorted(errors, key=lambda e: (e.location, e.kind))


def _resolve_component(name: str) -> str:
    components = _spec().get("components", {}).get("schemas", {})
    if name in components:
        return name
    if name in COMPONENT_ALIASES:
        return COMPONENT_ALIASES[name]
    raise KeyError(
        f"unknown Fortnox schema component {name!r}; use a spec name or one of "
        f"{sorted(COMPONENT_ALIASES)}"
    )


def check_component(name: str, instance: Any, *, legacy: bool = False) -> list[SchemaError]:
    """Validate ``instance`` against one component; see :func:`validate_component`."""
    root = _resolve_component(name)
    with _lock:
        validator = _validator(str(openapi_path()), root, legacy, False)
    return _run(validator, instance, name if name in COMPONENT_ALIASES else "")


def validate_component(name: str, instance: Any, *, legacy: bool = False) -> list[str]:
    """Validate ``instance`` against a Fortnox schema component; [] means valid.

    ``name`` is a short name from :data:`COMPONENT_ALIASES` (``"Order"``, ``"Invoice"``,
    ``"OrderRow"``… meaning the *write* schema, unwrapped: ``{"CustomerNumber": …}``) or a full
    spec name (``"fortnox_Order_OrderSinglePayloadItem_Wrap"``). ``legacy=True`` also applies
    :data:`LEGACY_LIMITS`. Raises KeyError for an unknown name and :class:`SchemaUnavailable`
    when the OpenAPI file is missing.
    """
    return [str(e) for e in check_component(name, instance, legacy=legacy)]


def check_request(method: str, path: str, body: Any, *, legacy: bool = False) -> list[SchemaError]:
    """Validate the JSON body of ``method path``; see :func:`validate_request`."""
    op = _find_operation(method, path)
    if op is None:
        return [
            SchemaError("", "", "no_operation", f"Fortnox has no operation {method.upper()} {path}")
        ]
    empty = body is None or body == {}
    if op.schema_name is None:
        if empty:
            return []
        return [SchemaError("", "", "unexpected_body", f"{method.upper()} {path} takes no body")]
    if empty:
        if op.is_action:
            # Action endpoints are called with an empty body (SOURCE.md caveats).
            return []
        return [SchemaError("", "", "no_body", "the request body is empty")]
    # A PUT on a resource (not an action) is a partial update: required fields are POST-only.
    partial = method.upper() == "PUT" and not op.is_action
    with _lock:
        validator = _validator(str(openapi_path()), op.schema_name, legacy, True, partial)
    return _run(validator, body, "")


def validate_request(method: str, path: str, body: Any, *, legacy: bool = False) -> list[str]:
    """Validate a JSON request body as Fortnox would; returns error strings, [] when valid.

    ``path`` is a concrete API path (``/3/orders``, ``/3/orders/12``, ``/3/invoices/7/bookkeep``,
    a query string is ignored); it is matched against the spec's path templates. ``body`` is the
    decoded JSON including the wrapper (``{"Order": {...}}``); ``None`` or ``{}`` means no body.
    Unknown fields, too-long values (spec ``maxLength`` plus :data:`EXTRA_LIMITS`), missing
    required fields, wrong types, values outside an enum and invalid dates are errors; an
    operation the spec does not have is one error. Raises :class:`SchemaUnavailable` when the
    OpenAPI file is missing.
    """
    return [str(e) for e in check_request(method, path, body, legacy=legacy)]
