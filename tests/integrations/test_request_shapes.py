"""Every request shape the client sends is valid against Fortnox's official schema, and the
sandbox (as strict as Fortnox) accepts it: the mapped order and invoice under several settings
profiles, their updates, the document actions and the attendance transactions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from app.integrations.fortnox.client import FortnoxClient
from app.integrations.fortnox.mapping import map_order, time_report
from app.integrations.fortnox.ratelimit import InProcessRateLimiter
from app.integrations.fortnox.settings import FortnoxSettings
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
from app.integrations.fortnox.tokens import MemoryTokenStore, ThreadLock, Tokens
from fortnox_sandbox.schema import validate_request

# Codes that exist in a seeded sandbox company (fortnox_sandbox/seed.py).
TINA = UserSnapshot("Tina Tekniker", id=1, employee_number="1", cost_center="100")
OLLE = UserSnapshot("Olle Montör", id=2, employee_number="2", cost_center="200")
GA10 = ServiceObjectSnapshot("ATLAS COPCO GA 10", id=1, machine_number="M-77",
                             serial_number="API123456789", comment="Står i pannrummet")  # fmt: skip
D20, D21 = date(2026, 11, 20), date(2026, 11, 21)
LOOKUPS = Lookups(
    cost_centers={"100", "200"},
    terms_of_delivery={"FVL", "FK"},
    ways_of_delivery={"P"},
    cost_centers_synced=True,
    terms_of_delivery_synced=True,
    ways_of_delivery_synced=True,
)


def order(kind: str = "service", **overrides) -> OrderSnapshot:  # type: ignore[no-untyped-def]
    values = dict(
        id=42,
        kind=kind,
        number=1042,
        status="ready",
        customer=CustomerSnapshot("1", "Kyltekniker i Norr AB", address1="Industrivägen 4",
                                  zip_code="90132", city="Umeå", country="Sverige"),
        facility=FacilitySnapshot("Kylcentralen", address1="Verkstadsgatan 2", zip_code="90133",
                                  city="Umeå", custom_fields={"Er referens": "Fastighet Ek"}),
        contact=ContactSnapshot("Anna Ek", phone="070-123 45 67"),
        orderer="Per Ek",
        assigned_user=OLLE,
        signed_by=TINA,
        signed_at=datetime(2026, 11, 21, 15, tzinfo=UTC),
        signed_customer_name="Anna Ek",
        customer_order_number="PO-778 med en lång text som inte får plats",
        description="Kompressorn larmar för högt tryck\noch stannar efter en stund",
        fault_cause="Igensatt filter",
        actions=(
            ActionSnapshot("Bytt luftfilter och kontrollerat trycket efter bytet", D21, TINA,
                           Decimal("2.5")),
            ActionSnapshot("Felsökning av larm", D20, OLLE, Decimal("1")),
        ),
        article_rows=(
            ArticleRowSnapshot("200", "Filter F7 592x592", Decimal("2"), Decimal("389"), "st",
                               date=D21, technician=TINA, service_object=GA10, cost_center="100"),
            ArticleRowSnapshot("100", "Arbetstid", Decimal("2.5"), Decimal("650"), "tim",
                               date=D21, technician=TINA, service_object=GA10, cost_center="100"),
            ArticleRowSnapshot("100", "Arbetstid", Decimal("1"), Decimal("650"), "tim", date=D20,
                               technician=OLLE, cost_center="200"),
            ArticleRowSnapshot("201", "Kylmedium R32 (kg)", Decimal("0.75"), Decimal("520"),
                               "kg", description="Påfyllning av kylmedium efter läcksökning",
                               date=D21, technician=TINA, cost_center="100"),
        ),
        service_objects=(OrderServiceObjectSnapshot(GA10, Decimal("12345.5")),),
        comments=(CommentSnapshot("Olle Montör", datetime(2026, 11, 20, 9, tzinfo=UTC),
                                  "Kunden vill ha offert på nytt filterpaket"),),
        custom_fields=({"Leveransvillkor": "FVL", "Leveranssätt": "P"} if kind == "sales" else {}),
        delivery_date=D21 if kind == "sales" else None,
    )  # fmt: skip
    values.update(overrides)
    return OrderSnapshot(**values)


EVERYTHING_ON = {
    d: True
    for d in (
        "sort_by_actions include_action_date include_description_and_cause "
        "include_service_object_on_row include_machine_number include_service_object_comment "
        "order_text_on_top set_prices_on_rows include_technician_on_rows sum_article_rows "
        "exclude_hidden_articles include_technician_on_action_summary user_cost_center_on_rows "
        "summary_in_order_text description_in_order_text include_operating_hours_in_order_text "
        "order_number_to_your_order_number signer_as_our_reference "
        "contact_phone_in_your_reference include_comments order_number_in_comment "
        "include_sales_order_status include_facility_name customer_name_as_delivery_name"
    ).split()
}
PROFILES = {
    "defaults": {},
    "everything": {**EVERYTHING_ON, "order_text": "Tack för uppdraget!\nBetalning 30 dagar.",
                   "cost_center": "200", "serial_number_max_chars": 6,
                   "service_object_prefix": "Maskin :"},
    "text_in_remarks": {**EVERYTHING_ON, "order_text_on_top": False, "sort_by_actions": False,
                        "order_text": "Tack för uppdraget!"},
}  # fmt: skip


@pytest.fixture
def client(sandbox):
    tenant = sandbox.create_tenant("Formtest AB", "556000-1234")
    issued = sandbox.issue_tokens(tenant)
    tokens = Tokens(
        issued.access_token,
        issued.refresh_token or "",
        datetime.now(UTC) + timedelta(hours=1),
        issued.scope,
    )
    with FortnoxClient(
        api_url=sandbox.api_url,
        oauth_url=sandbox.oauth_url,
        client_id="ordna-dev",
        client_secret="ordna-dev-secret",
        token_store=MemoryTokenStore(tokens),
        lock=ThreadLock(),
        rate_limiter=InProcessRateLimiter(),
    ) as made:
        yield made


@pytest.mark.parametrize("kind", ["service", "work", "sales"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
@pytest.mark.parametrize("document_type", ["Order", "Invoice"])
def test_mapped_documents_are_valid_and_accepted(client, kind, profile, document_type):
    settings = FortnoxSettings.from_dict(PROFILES[profile])
    result = map_order(order(kind), settings, LOOKUPS, document_type=document_type)
    assert result.errors == ()
    assert validate_request("POST", result.path, result.payload) == []
    create = client.create_order if document_type == "Order" else client.create_invoice
    created = create(result.document)
    number = created["DocumentNumber"]
    assert created["ExternalInvoiceReference1"] == result.reference
    # A re-send updates the same document with the PUT shape.
    update_path = f"{result.path}/{number}"
    assert validate_request("PUT", update_path, result.update_payload()) == []
    update = client.update_order if document_type == "Order" else client.update_invoice
    updated = update(number, result.update_payload()[document_type])
    assert updated["DocumentNumber"] == number


def test_order_actions_and_invoice_actions_are_accepted(client):
    result = map_order(order(), FortnoxSettings(), LOOKUPS, document_type="Order")
    number = client.create_order(result.document)["DocumentNumber"]
    invoice = client.create_invoice_from_order(number)
    assert invoice["OrderReference"] in (number, int(number), str(number))
    invoice_number = invoice["DocumentNumber"]
    assert client.print_invoice(invoice_number).startswith(b"%PDF")
    assert client.externalprint_invoice(invoice_number)["DocumentNumber"] == invoice_number
    assert client.bookkeep_invoice(invoice_number)["Booked"] is True
    other = client.create_order(result.document)["DocumentNumber"]
    assert client.cancel_order(other)["Cancelled"] is True


def test_time_report_transactions_are_valid_and_accepted(client):
    report = time_report(order(), FortnoxSettings(send_time_report=True))
    assert report.errors == () and len(report.transactions) == 2
    for transaction in report.transactions:
        body = transaction.to_payload()
        assert validate_request("POST", "/3/attendancetransactions", body) == []
        created = client.create_attendance_transaction(body["AttendanceTransaction"])
        assert created["EmployeeId"] == transaction.employee_id
