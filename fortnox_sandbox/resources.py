"""The ``/3`` resources: request pipeline, routing, and the simple registers.

:func:`dispatch` runs one API call for one tenant, with no knowledge of HTTP or tokens: the
``/3`` blueprint calls it after authentication, and the ``/_sandbox`` accountant controls call
it directly. Every call goes through the same checks Fortnox makes, in this order:
route → scope → query parameters → body against the official schema (:mod:`.schema`) →
references to registers (customer, article, cost center, …) → the change.

Registers (customers, articles, cost centers, …) share one generic implementation driven by a
:class:`Register` description; orders and invoices live in :mod:`.documents`.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import errors as E
from . import schema
from .errors import FortnoxError
from .state import SandboxState, Tenant
from .topics import record_change

try:
    STOCKHOLM: dt.tzinfo = ZoneInfo("Europe/Stockholm")
except ZoneInfoNotFoundError:  # no tz database on the machine: CET without summer time
    STOCKHOLM = dt.timezone(dt.timedelta(hours=1), "CET")
# FACTS.md §2: default page size 100; 500 is the most used in practice (max UNCONFIRMED).
DEFAULT_LIMIT = 100
MAX_LIMIT = 500
# FACTS.md §2: pagination, declared once in components.parameters and on no operation. Fortnox
# takes it on every call: published clients send limit on every request and page/offset on every
# GET, and /3/currencies answers ?limit=500&page=1 (softwerkab/fortnox-csharp-api-sdk#260).
GLOBAL_PARAMS = frozenset({"limit", "page", "offset"})
# The "global search" parameters of Fortnox's parameters guide (lastmodified, financialyear…,
# "can be used in almost every endpoint") are accepted where the spec declares them for the
# operation: /3/currencies, which declares no lastmodified, refuses it with 2000588 (same issue).
# Sorting applies to lists only (sortby values are enumerated per resource in the spec).
LIST_PARAMS = frozenset({"sortorder"})
# Parameters that are not "resource-specific search" (FACTS.md §2: only ONE search at a time,
# combinable with global ones such as lastmodified).
NON_SEARCH_PARAMS = GLOBAL_PARAMS | {
    "sortorder",
    "sortby",
    "filter",
    "lastmodified",
    "fromdate",
    "todate",
    "fromfinalpaydate",
    "tofinalpaydate",
    "financialyear",
    "financialyeardate",
}
# Common BAS sales accounts; an AccountNumber outside the chart is 2001304 (FACTS.md §3).
ACCOUNTS = frozenset(
    [1510, 1930, 2611, 2621, 2631, 3001, 3002, 3003, 3004, 3010, 3011, 3040, 3041, 3042, 3043]
    + [3044, 3045, 3050, 3051, 3052, 3053, 3054, 3055, 3105, 3106, 3108, 3212, 3231, 3305]
    + [3308, 3401, 3402, 3403, 3404, 3510, 3520, 3521, 3540, 3590, 3740, 4010, 6991]
)


# ---------------------------------------------------------------------------------- plumbing
@dataclass
class Ctx:
    """One API call: who, what, and the sandbox it runs in."""

    state: SandboxState
    tenant: Tenant
    method: str
    path: str  # "/3/orders/12" (no query string)
    query: dict[str, str]
    body: Any  # decoded JSON or None
    base_url: str  # "http://127.0.0.1:8765/3"
    accept: str = "application/json"
    accountant: bool = False  # True for /_sandbox controls: no scope check
    # The token's scopes (None for accountant calls), for handlers whose scope depends on the
    # request (a file attachment needs its document's scope, files.py).
    scopes: frozenset[str] | None = None
    # Every value of each query parameter (array parameters repeat: ?entityid=1&entityid=2).
    query_lists: dict[str, list[str]] = field(default_factory=dict)
    upload: Any = None  # a multipart file part (files.Upload), POST /3/inbox only

    @property
    def config(self) -> dict[str, Any]:
        return self.state.config

    def now(self) -> float:
        return self.state.clock.time()

    def today(self) -> dt.date:
        return dt.datetime.fromtimestamp(self.now(), STOCKHOLM).date()

    def url(self, *parts: object) -> str:
        return "/".join([self.base_url, *(str(p) for p in parts)])


@dataclass
class Reply:
    status: int
    json: Any = None
    pdf: bytes | None = None


Handler = Callable[..., Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    scopes: tuple[str, ...]
    is_list: bool = False
    is_pdf: bool = False


ROUTES: list[Route] = []


def route(
    method: str, pattern: str, *scopes: str, is_list: bool = False, is_pdf: bool = False,
    prefix: str = "/3/",
) -> Callable[[Handler], Handler]:  # fmt: skip
    """Register ``handler`` for ``method`` on ``/3/<pattern>`` (named groups become kwargs);
    ``prefix`` ``"/api/"`` for the newer services (FACTS.md §2: ``/api/<service>/<name>-vN``)."""

    def decorate(handler: Handler) -> Handler:
        regex = re.compile(prefix + pattern + "/?")
        ROUTES.append(Route(method, regex, handler, scopes, is_list, is_pdf))
        return handler

    return decorate


def dispatch(ctx: Ctx, scopes: frozenset[str] | None = None) -> Reply:
    """Run one API call; raises :class:`FortnoxError` for every Fortnox error answer.

    ``scopes`` are the token's scopes (ignored for accountant calls).
    """
    matched = None
    other_method = False
    for candidate in ROUTES:
        groups = candidate.pattern.fullmatch(ctx.path)
        if groups:
            if candidate.method == ctx.method:
                matched = (candidate, groups.groupdict())
                break
            other_method = True
    if matched is None:
        known = schema.operation_template(ctx.method, ctx.path)
        if other_method and not known:
            raise FortnoxError(E.Code(2000588, 405, "Metoden stöds inte för resursen."))
        if known:
            raise FortnoxError(
                E.Code(1000003, 501, f"Sandlådan emulerar inte {ctx.method} {ctx.path}.")
            )
        raise FortnoxError(E.Code(2000729, 404, "Resursen finns inte."))
    candidate, kwargs = matched
    if not ctx.accountant and scopes is not None:
        missing = [s for s in candidate.scopes if s not in scopes]
        if missing:
            # FACTS.md §1: every resource needs its scope; a token without it is refused.
            raise FortnoxError(E.NO_SCOPE_ACCESS)
    check_query(ctx, candidate)
    if ctx.method in ("POST", "PUT"):
        check_body(ctx)
    return candidate.handler(ctx, **kwargs)


def check_query(ctx: Ctx, candidate: Route) -> None:
    """The query parameters Fortnox accepts for this call; anything else is 2000588.

    Accepted: what the spec declares for the operation, pagination (limit, page, offset) on
    every call, ``sortorder`` on lists, ``printtemplate`` on PDF calls (FACTS.md §2). Refused
    with 2000588: unknown or mis-cased names ("params must be lower case"), lastmodified where
    the spec does not declare it (currencies refuse it), bad pagination values, and two
    resource-specific searches at once ("only ONE resource-specific filter at a time").
    """
    if not ctx.path.startswith("/3/"):
        # The /api services declare their own parameters and none of /3's global ones.
        if set(ctx.query) - set(schema.query_parameters(ctx.method, ctx.path)):
            raise FortnoxError(E.INVALID_PARAMETER)
        return
    allowed = set(schema.query_parameters(ctx.method, ctx.path)) | GLOBAL_PARAMS
    if candidate.is_list:
        allowed |= LIST_PARAMS
    if candidate.is_pdf:
        allowed.add("printtemplate")
    if set(ctx.query) - allowed:
        raise FortnoxError(E.INVALID_PARAMETER)
    check_global_values(ctx.query)
    searches = [name for name in ctx.query if name not in NON_SEARCH_PARAMS]
    if len(searches) > 1:
        raise FortnoxError(E.INVALID_PARAMETER)


def check_global_values(query: dict[str, str]) -> None:
    """Global parameters must carry a usable value (2000588 otherwise), on every call."""
    numbers = {"limit": (1, MAX_LIMIT), "page": (1, None), "offset": (0, None)}
    for name, (low, high) in numbers.items():
        if name in query:
            try:
                value = int(query[name])
            except ValueError:
                raise FortnoxError(E.INVALID_PARAMETER) from None
            if value < low or (high is not None and value > high):
                raise FortnoxError(E.INVALID_PARAMETER)
    if "lastmodified" in query:
        parse_lastmodified(query["lastmodified"])


_KIND_ORDER = {
    "no_body": 0,
    "unexpected_body": 0,
    "no_operation": 0,
    "unknown_field": 1,
    "wrong_type": 2,
    "missing": 3,
}


def check_body(ctx: Ctx) -> None:
    """Validate the body against the official schema; the first failure becomes the answer."""
    failures = schema.check_request(
        ctx.method, ctx.path, ctx.body, legacy=bool(ctx.config["SANDBOX_LEGACY_LIMITS"])
    )
    if not failures:
        return

    def rank(f: schema.SchemaError) -> tuple[int, int]:
        wrapper_missing = f.kind == "missing" and "." not in f.location
        return (-1 if wrapper_missing else _KIND_ORDER.get(f.kind, 4), 0)

    raise schema_failure(min(failures, key=rank))


def schema_failure(failure: schema.SchemaError) -> FortnoxError:
    """The Fortnox error for one schema failure (codes: see :mod:`.errors`)."""
    kind, name = failure.kind, failure.field
    if kind in ("no_body", "unexpected_body", "no_operation") or (
        kind == "missing" and "." not in failure.location
    ):
        return FortnoxError(E.EMPTY_OR_INCORRECT_BODY)
    if kind == "unknown_field":
        return FortnoxError(E.INVALID_FIELD_NAME, field=name)
    if kind == "missing" and name == "CustomerNumber":
        return FortnoxError(E.CUSTOMER_NOT_FOUND, value="")
    if kind == "wrong_type":
        expected = failure.detail if isinstance(failure.detail, str) else str(failure.detail)
        value = failure.message.split(" is not of type", 1)[0]
        if "number" in expected or "integer" in expected:
            return FortnoxError(E.MUST_BE_NUMERIC, value=value)
        if "boolean" in expected:
            return FortnoxError(E.MUST_BE_BOOLEAN, value=value)
        if "string" in expected:
            return FortnoxError(E.MUST_BE_ALPHANUMERIC, value=value)
    detail = {
        "missing": "måste anges",
        "too_long": f"får vara högst {failure.detail} tecken",
    }.get(kind, failure.message)
    return FortnoxError(E.VALUE_INVALID, field=failure.location or name, detail=detail)


# ---------------------------------------------------------------------------------- helpers
@cache
def properties(component: str) -> tuple[str, ...]:
    return schema.component_properties(component)


def present(record: dict[str, Any], component: str, url: str | None = None) -> dict[str, Any]:
    """The record in the spec's response shape: every property of ``component``, unset ones
    null (as Fortnox returns them), internal ``_keys`` dropped."""
    out: dict[str, Any] = {}
    for name in properties(component):
        if name == "@url":
            out[name] = url
        else:
            out[name] = record.get(name)
    return out


def decimal(value: Any, field_name: str) -> Decimal:
    """A number from a JSON number or a numeric string; otherwise 2000108 (FACTS.md §3)."""
    if value is None or value == "":
        return Decimal(0)
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FortnoxError(E.MUST_BE_NUMERIC, value=f"{field_name}: {value}") from None
    if not number.is_finite():
        raise FortnoxError(E.MUST_BE_NUMERIC, value=f"{field_name}: {value}")
    return number


def natural_key(value: Any) -> tuple[int, Any]:
    text = "" if value is None else str(value)
    return (0, int(text)) if text.isdigit() else (1, text.lower())


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise FortnoxError(E.INVALID_PARAMETER)


def parse_lastmodified(value: str) -> float:
    """FACTS.md §2: ``YYYY-MM-DD HH:mm`` in Swedish local time (seconds or a bare date too)."""
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = dt.datetime.strptime(value.strip(), fmt)
        except ValueError:
            continue
        return parsed.replace(tzinfo=STOCKHOLM).timestamp()
    raise FortnoxError(E.INVALID_PARAMETER)


def parse_date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise FortnoxError(E.INVALID_PARAMETER) from None


def contains(haystack: Any, needle: str) -> bool:
    """Fortnox's search parameters match substrings, case-insensitively (FACTS.md §2)."""
    return haystack is not None and needle.lower() in str(haystack).lower()


def paginate(
    ctx: Ctx, items: list[dict[str, Any]], plural: str, render: Callable[[dict[str, Any]], Any]
) -> Reply:
    """``page``/``limit``/``offset`` and ``MetaInformation`` (FACTS.md §2)."""
    try:
        limit = int(ctx.query.get("limit", DEFAULT_LIMIT))
        page = int(ctx.query.get("page", 1))
        offset = int(ctx.query.get("offset", 0))
    except ValueError:
        raise FortnoxError(E.INVALID_PARAMETER) from None
    if not 1 <= limit <= MAX_LIMIT or page < 1 or offset < 0:
        raise FortnoxError(E.INVALID_PARAMETER)
    items = items[offset:]
    total = len(items)
    pages = max(1, math.ceil(total / limit))
    chunk = items[(page - 1) * limit : page * limit]
    return Reply(
        200,
        {
            "MetaInformation": {
                "@TotalResources": total,
                "@TotalPages": pages,
                "@CurrentPage": page,
            },
            plural: [render(item) for item in chunk],
        },
    )


def sort_items(
    ctx: Ctx, items: list[dict[str, Any]], sortby: dict[str, Callable[[dict[str, Any]], Any]],
    default: Callable[[dict[str, Any]], Any],
) -> list[dict[str, Any]]:  # fmt: skip
    key = default
    if "sortby" in ctx.query:
        if ctx.query["sortby"] not in sortby:
            raise FortnoxError(E.INVALID_PARAMETER)
        key = sortby[ctx.query["sortby"]]
    order = ctx.query.get("sortorder", "ascending")
    if order not in ("ascending", "descending"):
        raise FortnoxError(E.INVALID_PARAMETER)
    return sorted(items, key=key, reverse=order == "descending")


def modified_since(ctx: Ctx, items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    if "lastmodified" not in ctx.query:
        return list(items)
    since = parse_lastmodified(ctx.query["lastmodified"])
    return [item for item in items if item.get("_modified", 0) >= since]


def touch(ctx: Ctx, record: dict[str, Any]) -> None:
    """Mark ``record`` changed now (``lastmodified``) and tell the topics (topics.py)."""
    created = "_modified" not in record
    record["_modified"] = ctx.now()
    ctx.tenant.revision += 1
    record_change(ctx, record, created)


def payload(ctx: Ctx, wrapper: str) -> dict[str, Any]:
    body = ctx.body if isinstance(ctx.body, dict) else {}
    item = body.get(wrapper)
    return dict(item) if isinstance(item, dict) else {}


# ---------------------------------------------------------------------------------- references
def require_register_code(
    ctx: Ctx, register: str, code: Any, what: str, active_field: str | None = None
) -> None:
    """``code`` must name an existing (and active) record of ``register``."""
    if code in (None, ""):
        return
    record = ctx.tenant.registers.get(register, {}).get(str(code))
    if register == "costcenters" and (record is None or record.get("Active") is False):
        # FACTS.md §3: 2000947 inactive cost center (an unknown one is refused the same way).
        raise FortnoxError(E.INACTIVE_COST_CENTER, value=code)
    if record is None or (active_field and record.get(active_field) is False):
        raise FortnoxError(E.REGISTER_CODE_NOT_FOUND, what=what, value=code)


def check_header_refs(ctx: Ctx, item: dict[str, Any]) -> None:
    require_register_code(ctx, "costcenters", item.get("CostCenter"), "Kostnadsställe")
    require_register_code(ctx, "termsofdeliveries", item.get("TermsOfDelivery"), "Leveransvillkor")
    require_register_code(ctx, "wayofdeliveries", item.get("WayOfDelivery"), "Leveranssätt")
    require_register_code(ctx, "pricelists", item.get("PriceList"), "Prislista")
    if item.get("Project"):
        # No project register is emulated, so no project code exists (never more lenient).
        raise FortnoxError(E.REGISTER_CODE_NOT_FOUND, what="Projekt", value=item["Project"])


def require_account(value: Any) -> None:
    if value is not None and int(value) not in ACCOUNTS:
        raise FortnoxError(E.Code(2001304, 400, "Kunde inte hitta konto ({value})"), value=value)


# ---------------------------------------------------------------------------------- registers
def customer_defaults() -> dict[str, Any]:
    return {
        "Active": True,
        "Type": "COMPANY",
        "VATType": "SEVAT",
        "Currency": "SEK",
        "CountryCode": "SE",
        "Country": "Sverige",
        "PriceList": "A",
        "TermsOfPayment": "30",
        "ShowPriceVATIncluded": False,
    }


def article_defaults() -> dict[str, Any]:
    return {
        "Active": True,
        "Type": "STOCK",
        "VAT": 25.0,
        "SalesAccount": 3001,
        "StockGoods": False,
        "WebshopArticle": False,
        "Expired": False,
        "Housework": False,
        "QuantityInStock": 0.0,
        "ReservedQuantity": 0.0,
        "DisposableQuantity": 0.0,
        "PurchasePrice": 0.0,
    }


@dataclass(frozen=True)
class Register:
    name: str  # URL segment and key of Tenant.registers
    singular: str
    plural: str
    key: str
    scope: str
    single: str  # response component
    list_item: str  # list component
    what: str  # Swedish noun for messages
    auto_key: bool = False
    delete: bool = True
    defaults: Callable[[], dict[str, Any]] = dict
    search: dict[str, str] = field(default_factory=dict)  # query param -> field
    sortby: dict[str, str] = field(default_factory=dict)
    active_field: str | None = None  # enables filter=active|inactive
    not_found: E.Code = E.NOT_FOUND
    exists: E.Code = E.ALREADY_EXISTS
    refs: tuple[tuple[str, str, str], ...] = ()  # (field, register, what)
    on_save: Callable[[Ctx, dict[str, Any], dict[str, Any]], None] | None = None
    on_present: Callable[[Ctx, dict[str, Any]], dict[str, Any]] | None = None
    # Amounts the list component types as strings (the single component as numbers).
    list_strings: tuple[str, ...] = ()


def _article_save(ctx: Ctx, record: dict[str, Any], item: dict[str, Any]) -> None:
    # An article's SalesPrice is its price in the default price list A (modelled that way;
    # FACTS.md §6 leaves the relation UNCONFIRMED), so /3/prices and the article agree.
    if "SalesPrice" in item:
        price = float(record.pop("SalesPrice"))
        key = f"A/{record['ArticleNumber']}/0"
        prices = ctx.tenant.registers.setdefault("prices", {})
        prices[key] = {
            **prices.get(key, {"Percent": 0.0, "Date": None}),
            "PriceList": "A",
            "ArticleNumber": record["ArticleNumber"],
            "FromQuantity": 0.0,
            "Price": price,
            "_modified": ctx.now(),
        }
    record.pop("SalesPrice", None)
    if record.get("Unit"):
        require_register_code(ctx, "units", record["Unit"], "Enhet")
    for account_field in ("SalesAccount", "PurchaseAccount"):
        if account_field in item:
            require_account(item[account_field])


def _article_present(ctx: Ctx, record: dict[str, Any]) -> dict[str, Any]:
    price = ctx.tenant.registers.get("prices", {}).get(f"A/{record['ArticleNumber']}/0")
    return {**record, "SalesPrice": price["Price"] if price else 0.0}


def _attendance_save(ctx: Ctx, record: dict[str, Any], item: dict[str, Any]) -> None:
    # Hours is a string in the spec; Fortnox still wants a number in it (2000108).
    decimal(record.get("Hours"), "Hours")


REGISTERS: dict[str, Register] = {
    r.name: r
    for r in [
        Register(
            "customers", "Customer", "Customers", "CustomerNumber", "customer",
            "fortnox_Kf_CustomerSingleItem", "fortnox_Kf_CustomerListItem", "Kund",
            auto_key=True, defaults=customer_defaults, active_field="Active",
            search={"customernumber": "CustomerNumber", "name": "Name", "zipcode": "ZipCode",
                    "city": "City", "email": "Email", "phone": "Phone1",
                    "organisationnumber": "OrganisationNumber", "gln": "GLN",
                    "glndelivery": "GLNDelivery"},
            sortby={"customernumber": "CustomerNumber", "name": "Name"},
            not_found=E.CUSTOMER_NOT_FOUND_404, exists=E.CUSTOMER_NUMBER_USED,
            refs=(("CostCenter", "costcenters", "Kostnadsställe"),
                  ("TermsOfDelivery", "termsofdeliveries", "Leveransvillkor"),
                  ("WayOfDelivery", "wayofdeliveries", "Leveranssätt"),
                  ("PriceList", "pricelists", "Prislista")),
        ),
        Register(
            "articles", "Article", "Articles", "ArticleNumber", "article",
            "fortnox_ArticleSingleItem", "fortnox_ArticleListItem", "Artikel",
            auto_key=True, defaults=article_defaults, active_field="Active",
            search={"articlenumber": "ArticleNumber", "description": "Description", "ean": "EAN",
                    "suppliernumber": "SupplierNumber", "manufacturer": "Manufacturer",
                    "manufacturerarticlenumber": "ManufacturerArticleNumber",
                    "webshop": "WebshopArticle"},
            sortby={"articlenumber": "ArticleNumber", "quantityinstock": "QuantityInStock",
                    "reservedquantity": "ReservedQuantity", "stockvalue": "StockValue"},
            not_found=E.ARTICLE_NOT_FOUND_404, exists=E.ARTICLE_NUMBER_USED,
            on_save=_article_save, on_present=_article_present,
            # Spec fortnox_ArticleListItem: these are strings in lists, numbers on one article.
            list_strings=("DisposableQuantity", "PurchasePrice", "ReservedQuantity", "SalesPrice",
                          "StockValue", "VAT"),
        ),
        Register(
            "costcenters", "CostCenter", "CostCenters", "Code", "costcenter",
            "fortnox_CostCenterSingleItem", "fortnox_CostCenterSingleItem", "Kostnadsställe",
            defaults=lambda: {"Active": True},
        ),
        Register(
            "termsofdeliveries", "TermsOfDelivery", "TermsOfDeliveries", "Code", "settings",
            "fortnox_Kf_TermsOfDeliverySingleItem", "fortnox_Kf_TermsOfDeliverySingleItem",
            "Leveransvillkor", delete=False,
        ),
        Register(
            "wayofdeliveries", "WayOfDelivery", "WayOfDeliveries", "Code", "settings",
            "fortnox_WayOfDeliverySingleItem", "fortnox_WayOfDeliverySingleItem", "Leveranssätt",
        ),
        Register(
            "units", "Unit", "Units", "Code", "settings",
            "fortnox_UnitSingleItem", "fortnox_UnitSingleItem", "Enhet",
        ),
        Register(
            "pricelists", "PriceList", "PriceLists", "Code", "price",
            "fortnox_PriceListSingleItem", "fortnox_PriceListSingleItem", "Prislista",
            delete=False,
        ),
        Register(
            "employees", "Employee", "Employees", "EmployeeId", "salary",
            "fortnox_Lon_EmployeeSingleItem", "fortnox_Lon_EmployeeListItem", "Anställd",
            delete=False, defaults=lambda: {"Inactive": False},
            refs=(("CostCenter", "costcenters", "Kostnadsställe"),),
        ),
        Register(
            "attendancetransactions", "AttendanceTransaction", "AttendanceTransactions", "id",
            "salary", "fortnox_Lon_AttendanceTransactionsSingleItem",
            "fortnox_Lon_AttendanceTransactionsListItem", "Närvarotransaktion", auto_key=True,
            search={"employeeid": "EmployeeId", "date": "Date"},
            refs=(("EmployeeId", "employees", "Anställd"),
                  ("CostCenter", "costcenters", "Kostnadsställe")),
            on_save=_attendance_save,
        ),
    ]
}  # fmt: skip


def _register_url(ctx: Ctx, register: Register, key: str) -> str:
    return ctx.url(register.name, key)


def render_register(ctx: Ctx, register: Register, record: dict[str, Any], component: str) -> Any:
    if register.on_present:
        record = register.on_present(ctx, record)
    out = present(record, component, _register_url(ctx, register, record[register.key]))
    if component == register.list_item:
        for name in register.list_strings:
            if isinstance(out.get(name), int | float | Decimal) and not isinstance(out[name], bool):
                out[name] = number_text(out[name])
    return out


def number_text(value: float | Decimal) -> str:
    """A number as list responses carry it: ``650``, ``12.5`` (the exact text is UNCONFIRMED)."""
    text = format(Decimal(str(value)).normalize(), "f")
    return "0" if text in ("-0", "") else text


def find_record(ctx: Ctx, register: Register, key: str) -> dict[str, Any]:
    record = ctx.tenant.registers.get(register.name, {}).get(key)
    if record is None:
        raise FortnoxError(register.not_found, what=register.what.lower(), value=key)
    return record


def _in_key_order(ctx: Ctx, register: Register) -> list[dict[str, Any]]:
    """The register's records in their default order (by key), the list cached per tenant
    until a record is created, changed (``touch`` replaces or bumps it) or removed: paging
    50 000 articles must neither sort them nor look each one up once per page (that, not
    Fortnox's rate limit, would set the pace of a first sync)."""
    records = ctx.tenant.registers.get(register.name, {})
    fingerprint = (len(records), ctx.tenant.revision)
    cached = ctx.tenant.key_orders.get(register.name)
    if cached is None or cached[0] != fingerprint:
        ordered = sorted(records.values(), key=lambda r: natural_key(r.get(register.key)))
        cached = ctx.tenant.key_orders[register.name] = (fingerprint, ordered)
    return list(cached[1])


def list_register(ctx: Ctx, register: Register) -> Reply:
    default_order = "sortby" not in ctx.query
    if default_order:
        items = _in_key_order(ctx, register)
    else:
        items = list(ctx.tenant.registers.get(register.name, {}).values())
    items = modified_since(ctx, items)
    for param, value in ctx.query.items():
        if param in register.search:
            target = register.search[param]
            if param == "webshop":
                wanted = parse_bool(value)
                items = [i for i in items if bool(i.get(target)) == wanted]
            elif register.name == "attendancetransactions":
                items = [i for i in items if str(i.get(target)) == value]
            else:
                items = [i for i in items if contains(i.get(target), value)]
    if "filter" in ctx.query:
        if not register.active_field or ctx.query["filter"] not in ("active", "inactive"):
            raise FortnoxError(E.INVALID_PARAMETER)
        wanted = ctx.query["filter"] == "active"
        items = [i for i in items if bool(i.get(register.active_field, True)) == wanted]
    sortby = {
        name: (lambda item, f=target: natural_key(item.get(f)))
        for name, target in register.sortby.items()
    }
    if default_order:  # already in key order; sortorder still applies
        order = ctx.query.get("sortorder", "ascending")
        if order not in ("ascending", "descending"):
            raise FortnoxError(E.INVALID_PARAMETER)
        if order == "descending":
            items.reverse()
    else:
        items = sort_items(ctx, items, sortby, lambda item: natural_key(item.get(register.key)))
    return paginate(
        ctx,
        items,
        register.plural,
        lambda item: render_register(ctx, register, item, register.list_item),
    )


def get_register(ctx: Ctx, register: Register, key: str) -> Reply:
    record = find_record(ctx, register, key)
    return Reply(200, {register.singular: render_register(ctx, register, record, register.single)})


def _check_refs(ctx: Ctx, register: Register, item: dict[str, Any]) -> None:
    for field_name, target, what in register.refs:
        if field_name in item:
            require_register_code(ctx, target, item[field_name], what)


def create_register(ctx: Ctx, register: Register) -> Reply:
    item = payload(ctx, register.singular)
    records = ctx.tenant.registers.setdefault(register.name, {})
    key = item.get(register.key)
    if key in (None, ""):
        if not register.auto_key:
            raise FortnoxError(E.VALUE_INVALID, field=register.key, detail="måste anges")
        key = _next_key(ctx.tenant, register, records)
    key = str(key)
    taken = key in records or (
        register.name == "customers" and key in ctx.tenant.used_customer_numbers
    )
    if taken:
        # FACTS.md §3: 2000637 customer number already used (even if deleted), 2000013 article.
        raise FortnoxError(register.exists, what=register.what, value=key)
    _check_refs(ctx, register, item)
    record = {**register.defaults(), **item, register.key: key}
    if register.on_save:
        register.on_save(ctx, record, item)
    touch(ctx, record)
    records[key] = record
    if register.name == "customers":
        ctx.tenant.used_customer_numbers.add(key)
    status = schema.success_status(ctx.method, ctx.path)
    rendered = render_register(ctx, register, record, register.single)
    return Reply(status, {register.singular: rendered})


def _next_key(tenant: Tenant, register: Register, records: dict[str, Any]) -> str:
    while True:
        number = str(tenant.next_number(register.name))
        if number not in records and number not in tenant.used_customer_numbers:
            return number


def update_register(ctx: Ctx, register: Register, key: str) -> Reply:
    record = find_record(ctx, register, key)
    item = payload(ctx, register.singular)
    if register.key in item and str(item[register.key]) != key:
        # Spec, PUT /3/articles/{ArticleNumber}: "you can not change the number".
        raise FortnoxError(
            E.VALUE_INVALID, field=register.key, detail="kan inte ändras på en befintlig post"
        )
    _check_refs(ctx, register, item)
    updated = {**record, **item}
    if register.on_save:
        register.on_save(ctx, updated, item)
    touch(ctx, updated)
    ctx.tenant.registers[register.name][key] = updated
    return Reply(200, {register.singular: render_register(ctx, register, updated, register.single)})


def delete_register(ctx: Ctx, register: Register, key: str) -> Reply:
    find_record(ctx, register, key)
    del ctx.tenant.registers[register.name][key]
    return Reply(schema.success_status(ctx.method, ctx.path))


def _install_register_routes(register: Register) -> None:
    name, scope = register.name, register.scope
    key = r"(?P<key>[^/]+)"

    route("GET", name, scope, is_list=True)(lambda ctx: list_register(ctx, register))
    route("POST", name, scope)(lambda ctx: create_register(ctx, register))
    route("GET", f"{name}/{key}", scope)(lambda ctx, key: get_register(ctx, register, key))
    route("PUT", f"{name}/{key}", scope)(lambda ctx, key: update_register(ctx, register, key))
    if register.delete:
        route("DELETE", f"{name}/{key}", scope)(
            lambda ctx, key: delete_register(ctx, register, key)
        )


for _register in REGISTERS.values():
    _install_register_routes(_register)


# ---------------------------------------------------------------------------------- company
@route("GET", "companyinformation", "companyinformation")
def company_information(ctx: Ctx) -> Reply:
    info = present(ctx.tenant.company, "fortnox_CompanyInformationSingleItem")
    return Reply(200, {"CompanyInformation": info})


# ---------------------------------------------------------------------------------- prices
PRICE_KEY = r"(?P<price_list>[^/]+)/(?P<article>[^/]+)"


def _price_key(price_list: str, article: str, from_quantity: Any) -> str:
    return f"{price_list}/{article}/{float(decimal(from_quantity, 'FromQuantity')):g}"


def _render_price(ctx: Ctx, record: dict[str, Any], component: str) -> dict[str, Any]:
    quantity = f"{record['FromQuantity']:g}"
    url = ctx.url("prices", record["PriceList"], record["ArticleNumber"], quantity)
    return present(record, component, url)


def _find_price(ctx: Ctx, price_list: str, article: str, from_quantity: Any) -> dict[str, Any]:
    key = _price_key(price_list, article, from_quantity)
    record = ctx.tenant.registers.get("prices", {}).get(key)
    if record is None:
        raise FortnoxError(E.NOT_FOUND, what="priset", value=f"{price_list}/{article}")
    return record


@route("POST", "prices", "price")
def create_price(ctx: Ctx) -> Reply:
    item = payload(ctx, "Price")
    require_register_code(ctx, "pricelists", item["PriceList"], "Prislista")
    if item["ArticleNumber"] not in ctx.tenant.registers.get("articles", {}):
        raise FortnoxError(E.ARTICLE_NOT_FOUND_ON_ROW, value=item["ArticleNumber"])
    key = _price_key(item["PriceList"], item["ArticleNumber"], item.get("FromQuantity", 0))
    prices = ctx.tenant.registers.setdefault("prices", {})
    if key in prices:
        raise FortnoxError(E.ALREADY_EXISTS, what="Priset", value=key)
    record = {"Percent": 0.0, "Date": None, "Price": 0.0, **item}
    record["FromQuantity"] = float(decimal(item.get("FromQuantity", 0), "FromQuantity"))
    touch(ctx, record)
    prices[key] = record
    return Reply(201, {"Price": _render_price(ctx, record, "fortnox_PriceSingleItem")})


@route("GET", "prices/sublist/" + PRICE_KEY, "price", is_list=True)
def list_prices(ctx: Ctx, price_list: str, article: str) -> Reply:
    items = [
        p for p in ctx.tenant.registers.get("prices", {}).values()
        if p["PriceList"] == price_list and p["ArticleNumber"] == article
    ]  # fmt: skip
    items.sort(key=lambda p: p["FromQuantity"])
    return paginate(ctx, items, "Prices", lambda p: _render_price(ctx, p, "fortnox_PriceListItem"))


@route("GET", "prices/" + PRICE_KEY, "price")
def get_first_price(ctx: Ctx, price_list: str, article: str) -> Reply:
    record = _find_price(ctx, price_list, article, 0)
    return Reply(200, {"Price": _render_price(ctx, record, "fortnox_PriceSingleItem")})


@route("GET", "prices/" + PRICE_KEY + "/(?P<quantity>[^/]+)", "price")
def get_price(ctx: Ctx, price_list: str, article: str, quantity: str) -> Reply:
    record = _find_price(ctx, price_list, article, quantity)
    return Reply(200, {"Price": _render_price(ctx, record, "fortnox_PriceSingleItem")})


def _update_price(ctx: Ctx, price_list: str, article: str, quantity: Any) -> Reply:
    record = _find_price(ctx, price_list, article, quantity)
    item = payload(ctx, "Price")
    for name in ("PriceList", "ArticleNumber"):
        if name in item and item[name] != record[name]:
            raise FortnoxError(E.VALUE_INVALID, field=name, detail="kan inte ändras")
    record.update({k: v for k, v in item.items() if k not in ("FromQuantity",)})
    touch(ctx, record)
    return Reply(200, {"Price": _render_price(ctx, record, "fortnox_PriceSingleItem")})


@route("PUT", "prices/" + PRICE_KEY, "price")
def update_first_price(ctx: Ctx, price_list: str, article: str) -> Reply:
    return _update_price(ctx, price_list, article, 0)


@route("PUT", "prices/" + PRICE_KEY + "/(?P<quantity>[^/]+)", "price")
def update_price(ctx: Ctx, price_list: str, article: str, quantity: str) -> Reply:
    return _update_price(ctx, price_list, article, quantity)


@route("DELETE", "prices/" + PRICE_KEY + "/(?P<quantity>[^/]+)", "price")
def delete_price(ctx: Ctx, price_list: str, article: str, quantity: str) -> Reply:
    _find_price(ctx, price_list, article, quantity)
    del ctx.tenant.registers["prices"][_price_key(price_list, article, quantity)]
    return Reply(204)


def price_for(ctx: Ctx, article: str, price_list: str | None, quantity: Decimal) -> Decimal:
    """The article's price in ``price_list`` (default A) for ``quantity``: the row with the
    highest FromQuantity not above it; 0 when the list has none."""
    best: dict[str, Any] | None = None
    for price in ctx.tenant.registers.get("prices", {}).values():
        if price["ArticleNumber"] != article or price["PriceList"] != (price_list or "A"):
            continue
        if Decimal(str(price["FromQuantity"])) <= abs(quantity):
            if best is None or price["FromQuantity"] > best["FromQuantity"]:
                best = price
    if best is None and price_list not in (None, "A"):
        return price_for(ctx, article, "A", quantity)
    return Decimal(str(best["Price"])) if best else Decimal(0)


# The inbox and the file attachments (files.py) register their routes here too, so importing
# this module gives every route (files.py imports this one; everything above is defined).
from . import files  # noqa: E402, F401
