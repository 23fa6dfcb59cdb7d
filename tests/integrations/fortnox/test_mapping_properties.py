"""Property tests over random orders and random settings (fortnox-settings.md §1, §7).

For every combination: the sum of quantity × price and the quantity per article number are
kept (hidden articles aside), every text keeps to its Fortnox limit, no text row is empty, the
output is deterministic, and the payload is valid against Fortnox's official schema for the
document type (with the conservative legacy limits of FACTS.md §4).
"""

from __future__ import annotations

import copy
import dataclasses
import unicodedata
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.integrations.fortnox import limits
from app.integrations.fortnox.mapping import MappingResult, map_order, time_report
from app.integrations.fortnox.settings import SETTING_DEFINITIONS, FortnoxSettings
from app.integrations.fortnox.snapshot import (
    ActionSnapshot,
    ArticleRowSnapshot,
    CommentSnapshot,
    ContactSnapshot,
    CustomerSnapshot,
    FacilitySnapshot,
    Lookups,
    OrderServiceObjectSnapshot,
    OrderSnapshot,
    ServiceObjectSnapshot,
    UserSnapshot,
)

ARTICLE_NUMBERS = ["F100", "ARB", "RESA", "12", "13"]
COST_CENTERS = ["", "100", "200", "300", "999"]
USERS = [
    UserSnapshot("Anna Svensson", id=1, employee_number="1001", cost_center="200"),
    UserSnapshot("Bo Ek", id=2, employee_number="1002", cost_center="300"),
    UserSnapshot("Maximiliana Charlotta Vilhelmina Adlercreutz af Ek", id=3),
]
SERVICE_OBJECTS = [
    ServiceObjectSnapshot("ATLAS COPCO GA 10", 1, "M-77", "API123456789", "Intervall 2000 h"),
    ServiceObjectSnapshot("Kyltork FD 20", 2),
    ServiceObjectSnapshot("Ventilationsaggregat Swegon Gold RX 25 plan 3", 3, "X" * 30, "S" * 40),
]
DAYS = [date(2026, 11, 20) + timedelta(days=n) for n in range(4)]
LOOKUPS = Lookups(
    cost_centers=frozenset({"100", "200", "300"}),
    terms_of_delivery=frozenset({"FVL"}),
    ways_of_delivery=frozenset({"BIL"}),
    cost_centers_synced=True,
    terms_of_delivery_synced=True,
    ways_of_delivery_synced=True,
)

WORDS = st.sampled_from(
    ["Bytt", "filter", "på", "kompressorn", "läckage", "åtgärdat", "vid", "ventil", "ÅÄÖ",
     "https://exempel.se/" + "a" * 45, "x" * 51, "—", "\t", "1/2", "\"citat\""]
)  # fmt: skip
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\r\n", "\n\n", "  ", " \n "])


@st.composite
def texts(draw: st.DrawFn, max_words: int = 30) -> str:
    """Realistic texts: words, long words, spaces, line breaks, blank lines, odd characters."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=80))  # anything at all, control characters included
    words = draw(st.lists(WORDS, max_size=max_words))
    result = ""
    for word in words:
        result += word + draw(SEPARATORS)
    return result


decimals = st.decimals(min_value=-5, max_value=500, places=3, allow_nan=False)
prices = st.decimals(min_value=-1000, max_value=99999, places=2, allow_nan=False)
maybe_day = st.one_of(st.none(), st.sampled_from(DAYS))

article_rows = st.builds(
    ArticleRowSnapshot,
    article_number=st.sampled_from(ARTICLE_NUMBERS),
    article_name=st.one_of(st.sampled_from(["Luftfilter GA 10", "Arbete", "Resa", ""]), texts()),
    quantity=decimals,
    price=prices,
    unit=st.sampled_from(["st", "h", "m", ""]),
    description=st.one_of(st.none(), texts()),
    date=maybe_day,
    technician=st.one_of(st.none(), st.sampled_from(USERS)),
    service_object=st.one_of(st.none(), st.sampled_from(SERVICE_OBJECTS)),
    cost_center=st.sampled_from(COST_CENTERS),
    hidden=st.booleans(),
)
actions = st.builds(
    ActionSnapshot,
    description=texts(),
    date=maybe_day,
    technician=st.one_of(st.none(), st.sampled_from(USERS)),
    hours=st.one_of(st.none(), st.decimals(min_value=0, max_value=12, places=2)),
)
comments = st.builds(
    CommentSnapshot,
    author=st.sampled_from(["Anna Svensson", "Bo Ek", ""]),
    created_at=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    text=texts(max_words=80),
)
custom_fields = st.dictionaries(
    st.sampled_from(["Er referens", "referens", " ER REFERENS", "Leveransvillkor", "Leveranssätt",
                     "Annat"]),
    st.one_of(st.sampled_from(["", "FVL", "BIL", "fvl", "okänd"]), texts(max_words=12)),
    max_size=3,
)  # fmt: skip
facilities = st.builds(
    FacilitySnapshot,
    name=texts(max_words=6),
    address1=texts(max_words=4),
    address2=st.sampled_from(["", "Port 4"]),
    zip_code=st.sampled_from(["", "116 46"]),
    city=st.sampled_from(["", "Stockholm"]),
    country=st.sampled_from(["", "Sverige"]),
    custom_fields=custom_fields,
)
customers = st.builds(
    CustomerSnapshot,
    number=st.sampled_from(["1001", "20034"]),
    name=texts(max_words=6),
    address1=texts(max_words=4),
    address2=st.sampled_from(["", "Box 12"]),
    zip_code=st.sampled_from(["", "111 22"]),
    city=st.sampled_from(["", "Malmö"]),
    country=st.sampled_from(["", "Sverige"]),
    subgroup_id=st.sampled_from([None, 1, 2]),
    custom_fields=custom_fields,
)
orders = st.builds(
    OrderSnapshot,
    id=st.integers(1, 10**9),
    kind=st.sampled_from(["service", "work", "sales"]),
    number=st.integers(1001, 999999),
    customer=customers,
    status=st.sampled_from(["draft", "in_progress", "ready", "sent", "invoiced", "cancelled"]),
    subgroup_id=st.sampled_from([None, 1, 2]),
    facility=st.one_of(st.none(), facilities),
    contact=st.one_of(
        st.none(), st.builds(ContactSnapshot, name=texts(max_words=5), phone=texts(max_words=3))
    ),
    orderer=texts(max_words=5),
    assigned_user=st.one_of(st.none(), st.sampled_from(USERS)),
    signed_by=st.one_of(st.none(), st.sampled_from(USERS)),
    customer_order_number=texts(max_words=6),
    description=texts(),
    fault_cause=texts(),
    delivery_date=maybe_day,
    custom_fields=custom_fields,
    actions=st.lists(actions, max_size=6).map(tuple),
    article_rows=st.lists(article_rows, max_size=14).map(tuple),
    service_objects=st.lists(
        st.builds(
            OrderServiceObjectSnapshot,
            service_object=st.sampled_from(SERVICE_OBJECTS),
            operating_hours=st.one_of(st.none(), st.decimals(0, 99999, places=1)),
        ),
        max_size=3,
    ).map(tuple),
    comments=st.lists(comments, max_size=8).map(tuple),
)


def _setting_strategy(key: str, kind: str) -> st.SearchStrategy[Any]:
    if kind == "bool":
        return st.booleans()
    if kind == "int":
        return st.integers(0, 20)
    if kind == "list":
        return st.lists(st.sampled_from(ARTICLE_NUMBERS + COST_CENTERS[1:]), max_size=3).map(tuple)
    return {
        "order_text": texts(max_words=60),
        "service_object_prefix": st.sampled_from(["", "Maskin :", "Serviceobjekt: "]),
        "cost_center": st.sampled_from(COST_CENTERS),
        "internal_invoice_customer": st.sampled_from(["", "9001"]),
        "time_report_cause_code": st.sampled_from(["TID", "ARB"]),
    }.get(key, st.sampled_from(["", "tagg"]))


all_settings = st.fixed_dictionaries(
    {d.key: _setting_strategy(d.key, d.type) for d in SETTING_DEFINITIONS}
).map(lambda values: FortnoxSettings(**values))


def _sent_rows(order: OrderSnapshot, chosen: FortnoxSettings) -> list[ArticleRowSnapshot]:
    return [r for r in order.article_rows if not (chosen.exclude_hidden_articles and r.hidden)]


def _check_limits_and_text_rows(result: MappingResult) -> None:
    document = result.document
    header = {
        "YourReference": limits.YOUR_REFERENCE,
        "OurReference": limits.OUR_REFERENCE,
        "YourOrderNumber": limits.YOUR_ORDER_NUMBER,
        "Remarks": limits.REMARKS,
        "Comments": limits.COMMENTS,
        "ExternalInvoiceReference1": limits.EXTERNAL_INVOICE_REFERENCE,
    }
    for key, limit in header.items():
        if key in document:
            assert 0 < len(document[key]) <= limit, key
    for row in result.rows:
        description = row.get("Description")
        if description is not None:
            assert 0 < len(description) <= limits.ROW_DESCRIPTION, row
            assert description == description.strip(), row
            assert "\n" not in description and "\r" not in description
        if "ArticleNumber" not in row:  # a text row: only a non-empty Description
            assert set(row) == {"Description"} and description, row
    # No control characters anywhere (Fortnox 2000359); line breaks only in Remarks/Comments.
    for key, value in [*document.items(), *((k, v) for r in result.rows for k, v in r.items())]:
        if isinstance(value, str):
            allowed = {"\n"} if key in ("Remarks", "Comments") else set()
            assert not [c for c in value if unicodedata.category(c) == "Cc" and c not in allowed]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=orders, chosen=all_settings, invoice=st.booleans())
def test_mapping_invariants_hold_for_random_orders_and_settings(
    order: OrderSnapshot, chosen: FortnoxSettings, invoice: bool
) -> None:
    from fortnox_sandbox.schema import validate_request

    document_type = "Invoice" if invoice else "Order"
    result = map_order(order, chosen, LOOKUPS, document_type=document_type)

    # Quantity per article number is kept (hidden articles aside).
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for row in _sent_rows(order, chosen):
        expected[row.article_number] += row.quantity
    actual: dict[str, Decimal] = defaultdict(Decimal)
    for row in result.rows:
        if "ArticleNumber" in row:
            actual[row["ArticleNumber"]] += Decimal(row["DeliveredQuantity"])
            if document_type == "Order":
                assert row["OrderedQuantity"] == row["DeliveredQuantity"]
            else:
                assert "OrderedQuantity" not in row
    assert actual == expected

    # Every text within its limit, no empty text row.
    _check_limits_and_text_rows(result)

    # Deterministic: the same input, even rebuilt, gives byte-identical JSON.
    again = map_order(
        copy.deepcopy(order),
        FortnoxSettings.from_dict(chosen.to_dict()),
        LOOKUPS,
        document_type=document_type,
    )
    assert again.to_json().encode() == result.to_json().encode()
    assert (again.warnings, again.errors) == (result.warnings, result.errors)

    # Valid for Fortnox.
    assert validate_request("POST", result.path, result.payload, legacy=True) == []
    assert validate_request("PUT", result.path + "/1", result.update_payload(), legacy=True) == []

    # The total is kept: with prices sent on every row, sum(quantity × price) is unchanged.
    priced = dataclasses.replace(chosen, set_prices_on_rows=True, no_price_article_numbers=())
    priced_result = map_order(order, priced, LOOKUPS, document_type=document_type)
    total = sum(
        (
            Decimal(r["DeliveredQuantity"]) * Decimal(str(r["Price"]))
            for r in priced_result.rows
            if "ArticleNumber" in r
        ),
        Decimal(0),
    )
    assert total == sum((r.quantity * r.price for r in _sent_rows(order, chosen)), Decimal(0))

    # Every warning and error is a Swedish sentence, not empty.
    assert all(message.strip() for message in result.warnings + result.errors)


@settings(max_examples=100, deadline=None)
@given(order=orders, chosen=all_settings)
def test_time_report_keeps_every_reportable_hour(
    order: OrderSnapshot, chosen: FortnoxSettings
) -> None:
    from fortnox_sandbox.schema import validate_request

    report = time_report(order, chosen)
    reportable = sum(
        (
            a.hours
            for a in order.actions
            if a.hours and a.date and a.technician and a.technician.employee_number
        ),
        Decimal(0),
    )
    assert sum((t.hours for t in report.transactions), Decimal(0)) == reportable
    keys = [t.key for t in report.transactions]
    assert len(keys) == len(set(keys))
    for transaction in report.transactions:
        payload = transaction.to_payload()
        assert validate_request("POST", "/3/attendancetransactions", payload) == []
    without_number = {
        a.technician.name
        for a in order.actions
        if a.hours and a.technician and not a.technician.employee_number
    }
    assert bool(without_number) == any("saknar anställningsnummer" in e for e in report.errors)
