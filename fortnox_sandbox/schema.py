"""Validation of Fortnox API v3 request bodies: the official OpenAPI file and the sandbox's own.

Two descriptions of Fortnox exist here:

* **Fortnox's official OpenAPI description.** It is Fortnox's, not ours, so it is never copied
  into the repository: it is read at run time from ``FORTNOX_OPENAPI_PATH`` (default
  ``<repo root>/../shared/fortnox/openapi.json``). A fresh clone may not have it.
* **The sandbox's own description** (:mod:`.description`): the resources and operations the
  sandbox emulates, written from FACTS.md; always available.

When the official file is there (development machines, CI) every body is checked against both
and a failure from either is a failure; without it, against the own description only
(:func:`description_in_use` says which). Look-ups (:func:`operation_template`,
:func:`success_status`, :func:`component_properties`…) ask the official file first. Each
function takes ``using="official"`` or ``using="own"`` to consult one description only.

Validation is stricter than a plain JSON Schema reading of the official file, because the
sandbox must never be more lenient than Fortnox:

* **Unknown fields are errors.** The spec never says ``additionalProperties: false`` on the
  ``fortnox_*`` schemas, but Fortnox answers an unknown field name with error 2001399
  "Felaktigt fältnamn" (FACTS.md §3). Every object schema that lists its properties is therefore
  closed. Read-only fields (``Total``, ``Sent``, ``@url``…) are absent from the ``…PayloadItem``
  write schemas (FACTS.md §4, §5), so sending them back is an unknown-field error too.
* **Field lengths** come from the spec's ``maxLength``; :data:`EXTRA_LIMITS` adds the limits
  FACTS.md documents that this snapshot of the spec leaves out (the own description has them
  built in).
* **Required fields are a create rule**: the spec's PUT descriptions say only the properties
  sent are changed, so ``required`` is checked on POST, not on PUT.
* **The wrapper is required**: ``POST /3/orders`` needs ``{"Order": {...}}``; an empty body is
  Fortnox's 2001392 (FACTS.md §2, §3). Action endpoints (``…/createinvoice``, ``…/bookkeep``…)
  are called with an empty body (SOURCE.md), so for them an empty body is valid.
* OpenAPI 3.0 ``nullable`` is honoured; a ``null`` for a non-nullable field is an error.
  ``format: date`` must be a real ``YYYY-MM-DD`` date.

Public API: :func:`openapi_path`, :func:`description_in_use`, :func:`validate_request`,
:func:`validate_component`, plus :func:`check_request` / :func:`check_component` that return
:class:`SchemaError` objects carrying the field and the kind of failure (the sandbox maps those
to Fortnox error codes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from . import description

__all__ = [
    "COMPONENT_ALIASES",
    "EXTRA_LIMITS",
    "LEGACY_LIMITS",
    "SchemaError",
    "SchemaUnavailable",
    "check_component",
    "check_request",
    "compiled_schema",
    "component_properties",
    "description_in_use",
    "descriptions",
    "openapi_path",
    "operation_template",
    "query_parameters",
    "request_schema_name",
    "success_status",
    "validate_component",
    "validate_request",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

# ``using=`` values: one description only; None means every description available.
Using = Literal["official", "own"] | None

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
    """Fortnox's official OpenAPI file cannot be found or read."""


@dataclass(frozen=True)
class SchemaError:
    """One validation failure.

    ``location`` is a dotted path from the body's root (``Order.OrderRows[0].Description``),
    ``field`` the offending field name (the last key of the location, or the missing/unknown
    field), ``kind`` one of ``unknown_field``, ``missing``, ``too_long``, ``too_short``,
    ``wrong_type``, ``invalid_value``, ``invalid_format``, ``out_of_range``, ``no_body``,
    ``unexpected_body``, ``no_operation``, ``not_described`` (an operation the sandbox knows of
    but only the official file describes, and that file is absent), ``invalid``.
    """

    location: str
    field: str
    kind: str
    message: str
    detail: Any = None  # the schema's value for the failed rule (type name, maxLength…)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


# Cache key of the sandbox's own description (the official one's is its path).
OWN = "<own description>"


def _official_location() -> Path:
    configured = os.environ.get("FORTNOX_OPENAPI_PATH")
    if configured:
        return Path(configured)
    return REPO_ROOT.parent / "shared" / "fortnox" / "openapi.json"


def openapi_path() -> Path:
    """Where Fortnox's official OpenAPI file is: ``FORTNOX_OPENAPI_PATH`` or
    ``../shared/fortnox/``.

    Raises :class:`SchemaUnavailable` when no file is there (the sandbox then uses its own
    description only; see :func:`description_in_use`).
    """
    path = _official_location()
    if not path.is_file():
        raise SchemaUnavailable(
            f"Fortnox OpenAPI description not found at {path}. Set FORTNOX_OPENAPI_PATH to the "
            "official openapi.json (it is not part of this repository)."
        )
    return path


def descriptions() -> tuple[str, ...]:
    """The descriptions in use: ``("official", "own")``, or ``("own",)`` without the file."""
    return ("official", "own") if _official_location().is_file() else ("own",)


def description_in_use() -> str:
    """Which description(s) bodies are checked against, for people (``make run`` prints it)."""
    path = _official_location()
    if path.is_file():
        return f"Fortnox's official OpenAPI ({path}) and the sandbox's own description"
    return f"the sandbox's own description (official file not found at {path})"


def _keys(using: Using = None) -> tuple[str, ...]:
    """Cache keys of the descriptions to consult, the official file first."""
    if using == "own":
        return (OWN,)
    if using == "official":
        return (str(openapi_path()),)
    if using is not None:
        raise ValueError(f"using must be 'official', 'own' or None, not {using!r}")
    path = _official_location()
    return (str(path), OWN) if path.is_file() else (OWN,)


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


def _components(key: str) -> Mapping[str, Any]:
    with _lock:
        if key == OWN:
            return description.components()
        return _load_spec(key).get("components", {}).get("schemas", {})


@dataclass(frozen=True)
class _Operation:
    template: str
    regex: re.Pattern[str]
    literals: int
    schema_name: str | None  # component name of the JSON request body, None if no body
    success: int  # the first 2xx status the spec declares
    is_action: bool
    query: frozenset[str]  # query parameters the spec declares for the operation
    described: bool = True  # False: known to exist, body and answers not described
    array: bool = False  # the body is a JSON array of ``schema_name`` items


def _operation(
    template: str, schema_name: str | None, success: int, query: frozenset[str],
    described: bool = True, array: bool = False,
) -> _Operation:  # fmt: skip
    segments = template.strip("/").split("/")
    pattern = "/".join(
        "[^/]+" if seg.startswith("{") and seg.endswith("}") else re.escape(seg) for seg in segments
    )
    literals = sum(1 for seg in segments if not seg.startswith("{"))
    # An action is a literal segment after a path parameter (…/{DocumentNumber}/cancel).
    is_action = len(segments) >= 2 and not segments[-1].startswith("{") and "{" in template
    return _Operation(
        template, re.compile(f"/{pattern}/?"), literals, schema_name, success, is_action, query,
        described, array,
    )  # fmt: skip


@cache
def _operations(key: str) -> dict[str, tuple[_Operation, ...]]:
    by_method: dict[str, list[_Operation]] = {}
    if key == OWN:
        for own in description.OPERATIONS:
            by_method.setdefault(own.method, []).append(
                _operation(own.template, own.body, own.success, own.query, own.emulated, own.array)
            )
    else:
        for template, item in _load_spec(key).get("paths", {}).items():
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                params = op.get("parameters", [])
                query = frozenset(p["name"] for p in params if p.get("in") == "query")
                success = min(
                    (int(c) for c in op["responses"] if str(c).isdigit() and str(c)[0] == "2"),
                    default=200,
                )
                schema_name, array = None, False
                for media in op.get("requestBody", {}).get("content", {}).values():
                    node = media.get("schema", {})
                    if node.get("type") == "array":
                        # A list body (POST /api/fileattachments/attachments-v1).
                        node, array = node.get("items", {}), True
                    ref = node.get("$ref", "")
                    if ref.startswith("#/components/schemas/"):
                        schema_name = ref.rsplit("/", 1)[1]
                        break
                    array = False
                by_method.setdefault(method.upper(), []).append(
                    _operation(template, schema_name, success, query, array=array)
                )
    # Most literal segments first, so /3/prices/sublist/{A}/{B} wins over /3/prices/{A}/{B}/{C}.
    return {m: tuple(sorted(ops, key=lambda o: -o.literals)) for m, ops in by_method.items()}


def _find_operation(key: str, method: str, path: str) -> _Operation | None:
    path = path.split("?", 1)[0]
    with _lock:
        ops = _operations(key)
    for op in ops.get(method.upper(), ()):
        if op.regex.fullmatch(path):
            return op
    return None


def _described(method: str, path: str, using: Using) -> list[tuple[str, _Operation]]:
    found = [(key, _find_operation(key, method, path)) for key in _keys(using)]
    return [(key, op) for key, op in found if op is not None and op.described]


def request_schema_name(method: str, path: str, *, using: Using = None) -> str | None:
    """The component of the JSON body of ``method path`` (None: no such operation/body)."""
    described = _described(method, path, using)
    return described[0][1].schema_name if described else None


def operation_template(method: str, path: str, *, using: Using = None) -> str | None:
    """The path template ``path`` matches for ``method`` (None: Fortnox has no such call)."""
    for key in _keys(using):
        op = _find_operation(key, method, path)
        if op is not None:
            return op.template
    return None


def success_status(method: str, path: str, *, using: Using = None) -> int:
    """The success status declared for ``method path`` (201 for most POSTs)."""
    described = _described(method, path, using)
    return described[0][1].success if described else 200


def query_parameters(method: str, path: str, *, using: Using = None) -> frozenset[str]:
    """Query parameter names declared for ``method path`` (empty when unknown); with both
    descriptions, only those both declare."""
    described = _described(method, path, using)
    if not described:
        return frozenset()
    return frozenset.intersection(*(op.query for _, op in described))


def _resolve_in(key: str, name: str) -> str | None:
    components = _components(key)
    if name in components:
        return name
    alias = COMPONENT_ALIASES.get(name)
    return alias if alias in components else None


def _roots(name: str, using: Using) -> list[tuple[str, str]]:
    roots = [(key, root) for key in _keys(using) if (root := _resolve_in(key, name))]
    if not roots:
        raise KeyError(
            f"unknown Fortnox schema component {name!r}; use a spec name or one of "
            f"{sorted(COMPONENT_ALIASES)}"
        )
    return roots


def component_properties(name: str, *, using: Using = None) -> tuple[str, ...]:
    """Property names of a component (or alias), in the spec's order."""
    key, root = _roots(name, using)[0]
    return tuple(_components(key)[root].get("properties", {}))


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
    key: str, root: str, legacy: bool, require_key: bool, partial: bool = False
) -> Draft202012Validator:
    """A compiled validator for component ``root`` with its referenced components inlined.

    ``require_key``: the wrapper's single key (``Order``) must be present. ``partial``: the
    wrapped item's ``required`` list is dropped, because a PUT changes only the properties it
    carries (spec descriptions of PUT /3/customers/{CustomerNumber}, /3/articles/{…}).
    :data:`EXTRA_LIMITS` and :data:`EXTRA_PROPERTIES` amend the official file (the own
    description has them built in); :data:`LEGACY_LIMITS` apply to both when ``legacy``.
    """
    components = _components(key)
    official = key != OWN
    if root not in components:
        raise KeyError(root)
    defs: dict[str, Any] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        if name in defs or name not in components:
            continue
        limits = dict(EXTRA_LIMITS.get(name, {})) if official else {}
        if legacy:
            for field, limit in LEGACY_LIMITS.get(name, {}).items():
                limits[field] = min(limit, limits.get(field, limit))
        extra = EXTRA_PROPERTIES.get(name) if official else None
        defs[name] = _convert(components[name], limits, extra)
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
    return Draft202012Validator(_inline(top, defs), format_checker=_FORMATS)


def _inline(node: Any, defs: Mapping[str, Any], stack: tuple[str, ...] = ()) -> Any:
    """``node`` with its ``$ref``s replaced by the referenced schemas (validation resolves no
    references then, twice as fast); a recursive reference stays a ``$ref`` into ``$defs``."""
    if isinstance(node, list):
        return [_inline(item, defs, stack) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    name = ref.removeprefix("#/$defs/") if isinstance(ref, str) else None
    rest = {k: v for k, v in node.items() if k != "$ref"}
    if (
        name is not None
        and name in defs
        and name not in stack
        and set(rest) <= {"$defs", "required"}
    ):
        out = dict(_inline(defs[name], defs, (*stack, name)))
        if "required" in rest:
            out["required"] = list(dict.fromkeys([*out.get("required", []), *rest["required"]]))
        if "$defs" in rest:
            out["$defs"] = rest["$defs"]
        return out
    return {k: v if k == "$defs" else _inline(v, defs, stack) for k, v in node.items()}


def compiled_schema(name: str, *, using: Using = None, legacy: bool = False) -> dict[str, Any]:
    """The strict JSON Schema a component (or alias) is checked with, for inspection and tests
    (the first description in use that has it, unless ``using`` says which)."""
    key, root = _roots(name, using)[0]
    with _lock:
        return _validator(key, root, legacy, False).schema


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


def _merged(errors: Iterable[SchemaError]) -> list[SchemaError]:
    """Errors from several descriptions (or rules) with exact repeats dropped, sorted."""
    unique = {(e.location, e.field, e.kind, e.message): e for e in errors}
    return sorted(unique.values(), key=lambda e: (e.location, e.kind, e.message))


def check_component(
    name: str, instance: Any, *, legacy: bool = False, using: Using = None
) -> list[SchemaError]:
    """Validate ``instance`` against one component; see :func:`validate_component`."""
    prefix = name if name in COMPONENT_ALIASES else ""
    errors: list[SchemaError] = []
    for key, root in _roots(name, using):
        with _lock:
            validator = _validator(key, root, legacy, False)
        errors.extend(_run(validator, instance, prefix))
    return _merged(errors)


def validate_component(
    name: str, instance: Any, *, legacy: bool = False, using: Using = None
) -> list[str]:
    """Validate ``instance`` against a Fortnox schema component; [] means valid.

    ``name`` is a short name from :data:`COMPONENT_ALIASES` (``"Order"``, ``"Invoice"``,
    ``"OrderRow"``… meaning the *write* schema, unwrapped: ``{"CustomerNumber": …}``) or a full
    spec name (``"fortnox_Order_OrderSinglePayloadItem_Wrap"``). ``legacy=True`` also applies
    :data:`LEGACY_LIMITS`. Checked against every description in use that has the component
    (see :func:`description_in_use`). Raises KeyError for a name none of them has.
    """
    return [str(e) for e in check_component(name, instance, legacy=legacy, using=using)]


def _check_operation(
    key: str, op: _Operation, method: str, path: str, body: Any, legacy: bool
) -> list[SchemaError]:
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
    if op.array:
        # A list of items, each checked against the component (no wrapper).
        if not isinstance(body, list):
            return [SchemaError("", "", "wrong_type", "the body must be a JSON array", "array")]
        with _lock:
            validator = _validator(key, op.schema_name, legacy, False)
        return [e for i, item in enumerate(body) for e in _run(validator, item, f"[{i}]")]
    # A PUT on a resource (not an action) is a partial update: required fields are POST-only.
    partial = method.upper() == "PUT" and not op.is_action
    with _lock:
        validator = _validator(key, op.schema_name, legacy, True, partial)
    return _run(validator, body, "")


def check_request(
    method: str, path: str, body: Any, *, legacy: bool = False, using: Using = None
) -> list[SchemaError]:
    """Validate the JSON body of ``method path``; see :func:`validate_request`."""
    keys = _keys(using)
    found = [(key, _find_operation(key, method, path)) for key in keys]
    # The official file lists every Fortnox operation; the own description only those the
    # sandbox emulates (plus some it knows of), so only the official one's silence, or the own
    # one's when it is alone, means Fortnox has no such operation.
    if found[0][1] is None:
        return [
            SchemaError("", "", "no_operation", f"Fortnox has no operation {method.upper()} {path}")
        ]
    described = [(key, op) for key, op in found if op is not None and op.described]
    if not described:
        return [
            SchemaError(
                "", "", "not_described",
                f"the sandbox's own description does not describe {method.upper()} {path} "
                "(the sandbox does not emulate it)",
            )
        ]  # fmt: skip
    errors: list[SchemaError] = []
    for key, op in described:
        errors.extend(_check_operation(key, op, method, path, body, legacy))
    return _merged(errors)


def validate_request(
    method: str, path: str, body: Any, *, legacy: bool = False, using: Using = None
) -> list[str]:
    """Validate a JSON request body as Fortnox would; returns error strings, [] when valid.

    ``path`` is a concrete API path (``/3/orders``, ``/3/orders/12``, ``/3/invoices/7/bookkeep``,
    a query string is ignored); it is matched against the path templates. ``body`` is the
    decoded JSON including the wrapper (``{"Order": {...}}``); ``None`` or ``{}`` means no body.
    Unknown fields, too-long values (spec ``maxLength`` plus :data:`EXTRA_LIMITS`), missing
    required fields, wrong types, values outside an enum and invalid dates are errors; an
    operation Fortnox does not have is one error. The body is checked against every
    description in use (:func:`description_in_use`): the official file when it is there, and
    always the sandbox's own; ``using`` picks one (``"official"`` raises
    :class:`SchemaUnavailable` without the file).
    """
    return [str(e) for e in check_request(method, path, body, legacy=legacy, using=using)]
