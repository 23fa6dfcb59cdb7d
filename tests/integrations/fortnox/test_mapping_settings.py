"""One table-driven test per setting key (fortnox-settings.md §3, §4, §7, §8).

Every row of ``CASES`` maps the same reference order (conftest ``make_order``) twice — with the
setting at its default ("off") and at the case's value ("on"), all other settings equal — and
checks the difference the spec describes. Keys whose effect lies outside the payload (sending,
sync) must leave the payload byte-identical. A test makes sure every key has a case.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.integrations.fortnox.mapping import MappingResult, map_order, time_report
from app.integrations.fortnox.settings import SETTING_DEFINITIONS, FortnoxSettings
from app.integrations.fortnox.snapshot import OrderSnapshot, UserSnapshot


@dataclass(frozen=True)
class Run:
    """Both mappings of one case and what went into them."""

    order: OrderSnapshot
    settings_off: FortnoxSettings
    settings_on: FortnoxSettings
    off: MappingResult
    on: MappingResult


@dataclass(frozen=True)
class Case:
    key: str
    value: Any
    check: Callable[[Run], None]
    base: dict[str, Any] = field(default_factory=dict)
    order: Callable[[Callable[..., OrderSnapshot]], OrderSnapshot] | None = None
    payload_unchanged: bool = False


def texts(result: MappingResult) -> list[str]:
    """The Description of every row, in order."""
    return [row.get("Description", "") for row in result.rows]


def article_rows(result: MappingResult, number: str | None = None) -> list[dict[str, Any]]:
    rows = [row for row in result.rows if "ArticleNumber" in row]
    return [row for row in rows if number is None or row["ArticleNumber"] == number]


def doc(result: MappingResult) -> dict[str, Any]:
    return result.document


# --- the checks, one per key ------------------------------------------------------------------


def check_sort_by_actions(r: Run) -> None:
    assert texts(r.off)[:2] == ["Felsökning av larm", "Bytt luftfilter"]
    assert texts(r.on) == [
        "2026-11-20",
        "Felsökning av larm",
        "Arbete",
        "2026-11-21",
        "Bytt luftfilter",
        "Luftfilter GA 10",
        "Arbete",
        "Luftfilter GA 10",
        "Miljöavgift",
        "Övrigt",
        "Resa",
    ]


def check_include_action_date(r: Run) -> None:
    assert texts(r.off)[:2] == ["Felsökning av larm", "Bytt luftfilter"]
    assert texts(r.on)[:2] == ["2026-11-20: Felsökning av larm", "2026-11-21: Bytt luftfilter"]


def check_include_description_and_cause(r: Run) -> None:
    assert texts(r.on)[:3] == [
        "Beskrivning: Kompressorn larmar",
        "för högt tryck",
        "Fel/orsak: Igensatt filter",
    ]
    assert texts(r.on)[3:] == texts(r.off)


def check_include_service_object_on_row(r: Run) -> None:
    assert texts(r.on)[2:] == [
        "ATLAS COPCO GA 10, s/n API123456789",
        "Luftfilter GA 10",
        "Arbete",
        "Luftfilter GA 10",
        "Kyltork FD 20",
        "Arbete",
        "Miljöavgift",
        "Resa",
    ]
    assert "ATLAS COPCO GA 10, s/n API123456789" not in texts(r.off)


def check_include_machine_number(r: Run) -> None:
    assert "ATLAS COPCO GA 10, s/n API123456789" in texts(r.off)
    assert "ATLAS COPCO GA 10, maskinnr M-77, s/n API123456789" in texts(r.on)


def check_serial_number_max_chars(r: Run) -> None:
    assert "ATLAS COPCO GA 10, s/n API123456789" in texts(r.off)
    assert "ATLAS COPCO GA 10, s/n API123" in texts(r.on)


def check_service_object_prefix(r: Run) -> None:
    assert "Maskin :ATLAS COPCO GA 10, s/n API123456789" in texts(r.on)
    assert "Maskin :Kyltork FD 20" in texts(r.on)


def check_include_service_object_comment(r: Run) -> None:
    on = texts(r.on)
    label = on.index("ATLAS COPCO GA 10, s/n API123456789")
    assert on[label + 1] == "Serviceintervall 2000 h"
    assert "Serviceintervall 2000 h" not in texts(r.off)
    # Kyltork FD 20 has no comment: nothing follows its label but its rows.
    assert on[on.index("Kyltork FD 20") + 1] == "Arbete"


def check_order_text_on_top(r: Run) -> None:
    assert doc(r.off)["Remarks"] == "Betalning 30 dagar netto.\n\nTack för uppdraget!"
    assert "Remarks" not in doc(r.on)
    assert texts(r.on)[:2] == ["Betalning 30 dagar netto.", "Tack för uppdraget!"]
    assert texts(r.on)[2:] == texts(r.off)


def check_set_prices_on_rows(r: Run) -> None:
    assert all("Price" not in row for row in r.off.rows)
    assert [row.get("Price") for row in article_rows(r.on)] == [450, 650, 650, 450, 95, 300]


def check_no_price_article_numbers(r: Run) -> None:
    assert [row.get("Price") for row in article_rows(r.off)] == [450, 650, 650, 450, 95, 300]
    assert [row.get("Price") for row in article_rows(r.on)] == [450, None, None, 450, 95, 300]


def check_include_technician_on_rows(r: Run) -> None:
    assert [row["Description"] for row in article_rows(r.on)] == [
        "Luftfilter GA 10 - Anna Svensson",
        "Arbete - Anna Svensson",
        "Arbete - Bo Ek",
        "Luftfilter GA 10 - Anna Svensson",
        "Miljöavgift - Anna Svensson",
        "Resa",  # no technician on the row
    ]


def check_sort_articles_by_date(r: Run) -> None:
    def quantities(result: MappingResult) -> list[tuple[str, str]]:
        return [(row["ArticleNumber"], row["DeliveredQuantity"]) for row in article_rows(result)]

    assert quantities(r.off) == [
        ("F100", "2"), ("ARB", "2.5"), ("ARB", "1"), ("F100", "1"), ("MILJO", "1"), ("RESA", "1"),
    ]  # fmt: skip
    assert quantities(r.on) == [
        ("ARB", "1"), ("F100", "2"), ("ARB", "2.5"), ("F100", "1"), ("MILJO", "1"), ("RESA", "1"),
    ]  # fmt: skip


def check_sum_article_rows(r: Run) -> None:
    assert [row["DeliveredQuantity"] for row in article_rows(r.off, "F100")] == ["2", "1"]
    assert [row["DeliveredQuantity"] for row in article_rows(r.on, "F100")] == ["3"]
    assert [row["OrderedQuantity"] for row in article_rows(r.on, "F100")] == ["3"]
    # The two ARB rows differ in cost center (200/300): they stay apart.
    assert len(article_rows(r.on, "ARB")) == 2


def check_ignore_sum_article_numbers(r: Run) -> None:
    assert [row["DeliveredQuantity"] for row in article_rows(r.off, "F100")] == ["3"]
    assert [row["DeliveredQuantity"] for row in article_rows(r.on, "F100")] == ["2", "1"]


def check_exclude_hidden_articles(r: Run) -> None:
    assert article_rows(r.off, "MILJO")
    assert not article_rows(r.on, "MILJO")
    assert "Miljöavgift" not in texts(r.on)


def check_include_technician_on_action_summary(r: Run) -> None:
    assert texts(r.on)[:2] == ["Felsökning av larm (Bo Ek)", "Bytt luftfilter (Anna Svensson)"]


def check_user_cost_center_on_rows(r: Run) -> None:
    assert all("CostCenter" not in row for row in r.off.rows)
    assert [row.get("CostCenter") for row in article_rows(r.on)] == [
        "200", "200", "300", "200", "200", None,
    ]  # fmt: skip


def check_ignore_cost_centers_on_rows(r: Run) -> None:
    assert [row.get("CostCenter") for row in article_rows(r.on)] == [
        "200", "200", None, "200", "200", None,
    ]  # fmt: skip


def check_order_text(r: Run) -> None:
    assert "Remarks" not in doc(r.off)
    assert doc(r.on)["Remarks"] == "Betalning 30 dagar netto.\n\nTack för uppdraget!"


def check_summary_in_order_text(r: Run) -> None:
    assert doc(r.on)["Remarks"] == (
        "Serviceorder 1042\n"
        "Anläggning: Bageriet Götgatan\n"
        "Utfört: 2026-11-20 – 2026-11-21\n"
        "Tekniker: Bo Ek, Anna Svensson"
    )


def check_description_in_order_text(r: Run) -> None:
    assert doc(r.on)["Remarks"] == (
        "Beskrivning: Kompressorn larmar\nför högt tryck\nFel/orsak: Igensatt filter"
    )


def check_include_operating_hours_in_order_text(r: Run) -> None:
    # Kyltork FD 20 has no reading: no line.
    assert doc(r.on)["Remarks"] == "Drifttid ATLAS COPCO GA 10: 12345,5 h"


def check_dont_send_order_number(r: Run) -> None:
    assert doc(r.off)["OurReference"] == "SO 1042"
    assert doc(r.off)["Remarks"].startswith("Serviceorder 1042\n")
    assert doc(r.off)["Comments"] == "Order SO 1042"
    assert "OurReference" not in doc(r.on)
    assert doc(r.on)["Remarks"].startswith("Serviceorder\n")
    assert "Comments" not in doc(r.on)
    assert "1042" not in r.on.to_json()
    assert doc(r.on)["YourOrderNumber"] == "PO-778"  # the customer's number is still sent


def check_order_number_to_your_order_number(r: Run) -> None:
    assert (doc(r.off)["OurReference"], doc(r.off)["YourOrderNumber"]) == ("SO 1042", "PO-778")
    assert "OurReference" not in doc(r.on)
    assert doc(r.on)["YourOrderNumber"] == "PO-778 / SO 1042"


def check_assigned_as_our_reference(r: Run) -> None:
    assert doc(r.on)["OurReference"] == "Bo Ek"


def check_signer_as_our_reference(r: Run) -> None:
    assert doc(r.on)["OurReference"] == "Anna Svensson"


def check_contact_phone_in_your_reference(r: Run) -> None:
    assert doc(r.off)["YourReference"] == "Eva Lind"
    assert doc(r.on)["YourReference"] == "Eva Lind 070-123 45 67"


def check_orderer_as_your_reference(r: Run) -> None:
    assert doc(r.on)["YourReference"] == "Per Ek"


def check_include_comments(r: Run) -> None:
    assert "Comments" not in doc(r.off)
    assert doc(r.on)["Comments"] == (
        "2026-11-20 Anna Svensson: Kund ringde om larm\n2026-11-21 Bo Ek: Klart"
    )


def check_order_number_in_comment(r: Run) -> None:
    assert doc(r.on)["Comments"] == "Order SO 1042"


def check_include_sales_order_status(r: Run) -> None:
    assert texts(r.on)[0] == "Status: Klar för fakturering"
    assert texts(r.on)[1:] == texts(r.off)


def check_include_facility_name(r: Run) -> None:
    assert texts(r.on)[0] == "Anläggning: Bageriet Götgatan"
    assert texts(r.on)[1:] == texts(r.off)


def check_cost_center(r: Run) -> None:
    assert "CostCenter" not in doc(r.off)
    assert doc(r.on)["CostCenter"] == "100"
    assert not r.on.errors


def check_customer_name_as_delivery_name(r: Run) -> None:
    assert doc(r.off)["DeliveryName"] == "Bageriet Götgatan"
    assert doc(r.on)["DeliveryName"] == "Bageriet Söder AB"


def check_customer_address_as_delivery_address(r: Run) -> None:
    def delivery(result: MappingResult) -> dict[str, str]:
        return {k: v for k, v in doc(result).items() if k.startswith("Delivery")}

    assert delivery(r.off) == {
        "DeliveryName": "Bageriet Götgatan",
        "DeliveryAddress1": "Götgatan 5",
        "DeliveryZipCode": "116 46",
        "DeliveryCity": "Stockholm",
    }
    assert delivery(r.on) == {
        "DeliveryName": "Bageriet Götgatan",
        "DeliveryAddress1": "Storgatan 1",
        "DeliveryAddress2": "Box 12",
        "DeliveryZipCode": "111 22",
        "DeliveryCity": "Stockholm",
        "DeliveryCountry": "Sverige",
    }


def check_internal_invoice_customer(r: Run) -> None:
    assert doc(r.off)["CustomerNumber"] == "1001"
    assert doc(r.on)["CustomerNumber"] == "9001"
    assert texts(r.on)[0] == "Slutkund: Bageriet Söder AB"
    assert texts(r.on)[1:] == texts(r.off)


def check_create_invoice_directly(r: Run) -> None:
    assert r.off.document_type == "Order" and set(r.off.payload) == {"Order"}
    assert r.on.document_type == "Invoice" and set(r.on.payload) == {"Invoice"}
    assert r.on.path == "/3/invoices"
    assert "OrderRows" in doc(r.off) and "InvoiceRows" in doc(r.on)
    assert all("OrderedQuantity" not in row for row in r.on.rows)
    assert [row.get("DeliveredQuantity") for row in r.on.rows] == [
        row.get("DeliveredQuantity") for row in r.off.rows
    ]


def check_send_time_report(r: Run) -> None:
    assert not r.off.errors
    assert len(r.on.errors) == 1
    assert "Bo Ek saknar anställningsnummer" in r.on.errors[0]
    assert "användarens inställningar" in r.on.errors[0]  # names the fix


def check_time_report_cause_code(r: Run) -> None:
    off = time_report(r.order, r.settings_off)
    on = time_report(r.order, r.settings_on)
    assert {t.cause_code for t in off.transactions} == {"TID"}
    assert {t.cause_code for t in on.transactions} == {"ARB"}


def no_payload_effect(r: Run) -> None:
    """Sending and sync settings act in the send and sync code, never on the document."""
    assert r.on.to_json() == r.off.to_json()


def _sales(make: Callable[..., OrderSnapshot]) -> OrderSnapshot:
    return make(kind="sales")


def _other_subgroup_customer(make: Callable[..., OrderSnapshot]) -> OrderSnapshot:
    customer = make().customer
    return make(customer=dataclasses.replace(customer, subgroup_id=2))


def _bo_without_employee_number(make: Callable[..., OrderSnapshot]) -> OrderSnapshot:
    order = make()
    bo = UserSnapshot("Bo Ek", id=2, employee_number="", cost_center="300")
    actions = tuple(
        dataclasses.replace(a, technician=bo) if a.technician and a.technician.id == 2 else a
        for a in order.actions
    )
    return make(actions=actions)


SERVICE_OBJECTS = {"include_service_object_on_row": True}
TWO_LINES = "Betalning 30 dagar netto.\n\nTack för uppdraget!"

CASES: list[Case] = [
    # §3 Row settings
    Case("sort_by_actions", True, check_sort_by_actions),
    Case("include_action_date", True, check_include_action_date),
    Case("include_description_and_cause", True, check_include_description_and_cause),
    Case("include_service_object_on_row", True, check_include_service_object_on_row),
    Case("include_machine_number", True, check_include_machine_number, SERVICE_OBJECTS),
    Case("serial_number_max_chars", 6, check_serial_number_max_chars, SERVICE_OBJECTS),
    Case("service_object_prefix", "Maskin :", check_service_object_prefix, SERVICE_OBJECTS),
    Case(
        "include_service_object_comment",
        True,
        check_include_service_object_comment,
        SERVICE_OBJECTS,
    ),
    Case("order_text_on_top", True, check_order_text_on_top, {"order_text": TWO_LINES}),
    Case("set_prices_on_rows", True, check_set_prices_on_rows),
    Case(
        "no_price_article_numbers",
        ("ARB", "99"),
        check_no_price_article_numbers,
        {"set_prices_on_rows": True},
    ),
    Case("include_technician_on_rows", True, check_include_technician_on_rows),
    Case("sort_articles_by_date", True, check_sort_articles_by_date),
    Case("sum_article_rows", True, check_sum_article_rows),
    Case(
        "ignore_sum_article_numbers",
        ("F100",),
        check_ignore_sum_article_numbers,
        {"sum_article_rows": True},
    ),
    Case("exclude_hidden_articles", True, check_exclude_hidden_articles),
    Case("include_technician_on_action_summary", True, check_include_technician_on_action_summary),
    Case("user_cost_center_on_rows", True, check_user_cost_center_on_rows),
    Case(
        "ignore_cost_centers_on_rows",
        ("300",),
        check_ignore_cost_centers_on_rows,
        {"user_cost_center_on_rows": True},
    ),
    # §4 Header settings
    Case("order_text", TWO_LINES, check_order_text),
    Case("summary_in_order_text", True, check_summary_in_order_text),
    Case("description_in_order_text", True, check_description_in_order_text),
    Case(
        "include_operating_hours_in_order_text", True, check_include_operating_hours_in_order_text
    ),
    Case(
        "dont_send_order_number",
        True,
        check_dont_send_order_number,
        {"summary_in_order_text": True, "order_number_in_comment": True},
    ),
    Case("order_number_to_your_order_number", True, check_order_number_to_your_order_number),
    Case("assigned_as_our_reference", True, check_assigned_as_our_reference),
    Case("signer_as_our_reference", True, check_signer_as_our_reference),
    Case("contact_phone_in_your_reference", True, check_contact_phone_in_your_reference),
    Case("orderer_as_your_reference", True, check_orderer_as_your_reference),
    Case("include_comments", True, check_include_comments),
    Case("order_number_in_comment", True, check_order_number_in_comment),
    Case("include_sales_order_status", True, check_include_sales_order_status, order=_sales),
    Case("include_facility_name", True, check_include_facility_name),
    Case("cost_center", "100", check_cost_center),
    Case("customer_name_as_delivery_name", True, check_customer_name_as_delivery_name),
    Case("customer_address_as_delivery_address", True, check_customer_address_as_delivery_address),
    Case(
        "internal_invoice_customer",
        "9001",
        check_internal_invoice_customer,
        order=_other_subgroup_customer,
    ),
    # §7 Sending, invoicing and status back
    Case("create_invoice_directly", True, check_create_invoice_directly),
    Case("send_invoice_after_sending", True, no_payload_effect, payload_unchanged=True),
    Case("mark_invoiced_on_send", True, no_payload_effect, payload_unchanged=True),
    Case("allow_send_before_ready", True, no_payload_effect, payload_unchanged=True),
    Case("create_order_from_reference", True, no_payload_effect, payload_unchanged=True),
    Case(
        "send_time_report",
        True,
        check_send_time_report,
        order=_bo_without_employee_number,
        payload_unchanged=True,
    ),
    Case("time_report_cause_code", "ARB", check_time_report_cause_code, payload_unchanged=True),
    Case("attach_protocol", True, no_payload_effect, payload_unchanged=True),
    # §8 Register sync settings
    Case("sync_updated_articles", True, no_payload_effect, payload_unchanged=True),
    Case("sync_prices", True, no_payload_effect, payload_unchanged=True),
    Case("sync_updated_customers", True, no_payload_effect, payload_unchanged=True),
    Case("disable_article_creation", True, no_payload_effect, payload_unchanged=True),
    Case("set_subgroup_on_sync", True, no_payload_effect, payload_unchanged=True),
    Case("customer_sync_tag", "fortnox", no_payload_effect, payload_unchanged=True),
]


def test_every_setting_key_has_exactly_one_case() -> None:
    keys = [case.key for case in CASES]
    assert sorted(keys) == sorted(d.key for d in SETTING_DEFINITIONS)
    assert len(keys) == len(set(keys))


@pytest.mark.parametrize("case", CASES, ids=[case.key for case in CASES])
def test_setting_changes_the_payload_as_the_spec_says(
    case: Case, make_snapshot: Callable[..., OrderSnapshot], synced_lookups: Any
) -> None:
    order = case.order(make_snapshot) if case.order else make_snapshot()
    settings_off = FortnoxSettings.from_dict(case.base)
    assert getattr(settings_off, case.key) != case.value, "the case must change the setting"
    settings_on = settings_off.updated({case.key: case.value})
    off = map_order(order, settings_off, synced_lookups)
    on = map_order(order, settings_on, synced_lookups)

    case.check(Run(order, settings_off, settings_on, off, on))

    if case.payload_unchanged:
        assert on.to_json() == off.to_json()
    else:
        assert on.to_json() != off.to_json()


def test_reference_order_is_valid_for_fortnox_under_every_case(
    make_snapshot: Callable[..., OrderSnapshot],
    synced_lookups: Any,
    assert_valid_for_fortnox: Callable[[MappingResult], None],
) -> None:
    for case in CASES:
        order = case.order(make_snapshot) if case.order else make_snapshot()
        settings = FortnoxSettings.from_dict({**case.base, case.key: case.value})
        assert_valid_for_fortnox(map_order(order, settings, synced_lookups))
