"""Demo data every new tenant starts with (``SANDBOX_SEED``, on by default).

A few customers, articles, cost centers, delivery terms and ways, the default price list ``A``
with prices, and employees for time reports, so ``make run`` and tests have something to send
against without setting up registers first. Tests that need an empty tenant turn seeding off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .state import Tenant

CUSTOMERS: list[dict[str, Any]] = [
    {
        "CustomerNumber": "1",
        "Name": "Kyltekniker i Norr AB",
        "OrganisationNumber": "556000-0001",
        "Address1": "Industrivägen 4",
        "ZipCode": "90132",
        "City": "Umeå",
        "Email": "faktura@kyltekniker.example",
        "EmailInvoice": "faktura@kyltekniker.example",
        "Phone1": "090-123 45",
        "YourReference": "Anna Ek",
    },
    {
        "CustomerNumber": "2",
        "Name": "Bostadsrättsföreningen Linden",
        "OrganisationNumber": "769600-0002",
        "Address1": "Lindvägen 12",
        "ZipCode": "41255",
        "City": "Göteborg",
        "Email": "styrelsen@linden.example",
    },
    {
        "CustomerNumber": "3",
        "Name": "Per Persson",
        "Type": "PRIVATE",
        "Address1": "Bygatan 3",
        "ZipCode": "21120",
        "City": "Malmö",
    },
]

ARTICLES: list[dict[str, Any]] = [
    {"ArticleNumber": "100", "Description": "Arbetstid", "Unit": "tim", "Type": "SERVICE",
     "SalesPrice": 650.0},
    {"ArticleNumber": "101", "Description": "Restid", "Unit": "tim", "Type": "SERVICE",
     "SalesPrice": 450.0},
    {"ArticleNumber": "200", "Description": "Filter F7 592x592", "Unit": "st", "Type": "STOCK",
     "SalesPrice": 389.0, "PurchasePrice": 210.0},
    {"ArticleNumber": "201", "Description": "Kylmedium R32 (kg)", "Unit": "kg", "Type": "STOCK",
     "SalesPrice": 520.0},
    {"ArticleNumber": "900", "Description": "Utgången artikel", "Unit": "st", "Active": False,
     "SalesPrice": 10.0},
]  # fmt: skip

COST_CENTERS = [
    {"Code": "100", "Description": "Service Norr", "Active": True},
    {"Code": "200", "Description": "Service Syd", "Active": True},
    {"Code": "999", "Description": "Nedlagt", "Active": False},
]
TERMS_OF_DELIVERY = [
    {"Code": "FVL", "Description": "Fritt vårt lager"},
    {"Code": "FK", "Description": "Fritt kund"},
]
WAYS_OF_DELIVERY = [
    {"Code": "P", "Description": "Post"},
    {"Code": "HÄM", "Description": "Kunden hämtar"},
]
EMPLOYEES = [
    {"EmployeeId": "1", "FirstName": "Tina", "LastName": "Tekniker", "Email": "tina@example.se"},
    {"EmployeeId": "2", "FirstName": "Olle", "LastName": "Montör", "Email": "olle@example.se"},
]
UNITS = [
    {"Code": code, "Description": description}
    for code, description in [("st", "Styck"), ("tim", "Timme"), ("h", "Timme"), ("kg", "Kilo"),
                              ("m", "Meter"), ("l", "Liter"), ("förp", "Förpackning"),
                              ("km", "Kilometer"), ("dag", "Dag")]
]  # fmt: skip
PRICE_LISTS = [{"Code": "A", "Description": "Grundprislista", "PreSelected": True}]


def _put(tenant: Tenant, register: str, key: str, record: dict[str, Any], now: float) -> None:
    tenant.registers.setdefault(register, {})[key] = {**record, "_modified": now}


def seed_basics(tenant: Tenant, now: float) -> None:
    """What every new Fortnox company has: units and the default price list A."""
    for unit in UNITS:
        _put(tenant, "units", unit["Code"], {**unit, "CodeEnglish": None}, now)
    for price_list in PRICE_LISTS:
        _put(tenant, "pricelists", price_list["Code"], {**price_list, "Comments": None}, now)


def seed_tenant(tenant: Tenant, now: float) -> None:
    """Fill a tenant's registers with the demo data above (after :func:`seed_basics`)."""
    from .resources import article_defaults, customer_defaults

    for customer in CUSTOMERS:
        record = {**customer_defaults(), **customer}
        _put(tenant, "customers", customer["CustomerNumber"], record, now)
        tenant.used_customer_numbers.add(customer["CustomerNumber"])
    tenant.counters["customers"] = len(CUSTOMERS)
    for article in ARTICLES:
        record = {**article_defaults(), **article}
        price = record.pop("SalesPrice")
        _put(tenant, "articles", article["ArticleNumber"], record, now)
        _put(
            tenant,
            "prices",
            f"A/{article['ArticleNumber']}/0",
            {"PriceList": "A", "ArticleNumber": article["ArticleNumber"], "FromQuantity": 0.0,
             "Price": price, "Percent": 0.0, "Date": None},
            now,
        )  # fmt: skip
    for cost_center in COST_CENTERS:
        _put(tenant, "costcenters", cost_center["Code"], {**cost_center, "Note": None}, now)
    for terms in TERMS_OF_DELIVERY:
        _put(tenant, "termsofdeliveries", terms["Code"], {**terms, "DescriptionEnglish": None}, now)
    for way in WAYS_OF_DELIVERY:
        _put(tenant, "wayofdeliveries", way["Code"], {**way, "DescriptionEnglish": None}, now)
    for employee in EMPLOYEES:
        _put(tenant, "employees", employee["EmployeeId"], {**employee, "Inactive": False}, now)
