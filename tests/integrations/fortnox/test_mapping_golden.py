"""Golden files: three realistic orders under two settings profiles, byte for byte.

``golden/<order>__<profile>.json`` holds the document type, send reference, payload, warnings
and errors. After an intended change, regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/integrations/fortnox/test_mapping_golden.py

and read the diff as an accountant would before committing it. A case whose file it rewrote
is reported as skipped, not passed, and CI=true refuses the flag.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from app.integrations.fortnox.mapping import MappingResult, map_order
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

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

LINNEA = UserSnapshot("Linnea Berg", id=11, employee_number="107", cost_center="SERV")
OSKAR = UserSnapshot("Oskar Nilsson", id=12, employee_number="112", cost_center="SERV")
KARIN = UserSnapshot("Karin Johansson", id=13, employee_number="", cost_center="KONT")
JONAS = UserSnapshot("Jonas Åberg", id=14, employee_number="121", cost_center="EL")
SARA = UserSnapshot("Sara Lindqvist", id=15, employee_number="122", cost_center="EL")

LOOKUPS = Lookups(
    cost_centers=frozenset({"SERV", "EL", "KONT", "MALMÖ"}),
    terms_of_delivery=frozenset({"FVL", "FCA", "DAP"}),
    ways_of_delivery=frozenset({"DHL", "BIL", "HÄMT"}),
    cost_centers_synced=True,
    terms_of_delivery_synced=True,
    ways_of_delivery_synced=True,
)


def d(text: str) -> Decimal:
    return Decimal(text)


def service_order() -> OrderSnapshot:
    """SO 1187: annual service of two compressors over three days at a workshop."""
    ga30 = ServiceObjectSnapshot(
        "Atlas Copco GA 30 VSD",
        id=301,
        machine_number="AII 482 113",
        serial_number="ITJ123456789",
        comment="Nästa service vid 24 000 h.",
    )
    fx9 = ServiceObjectSnapshot("Kyltork Atlas Copco FX 9", id=302, serial_number="CAI778899")
    day1, day2, day3 = date(2026, 11, 17), date(2026, 11, 18), date(2026, 11, 19)

    def row(
        number: str,
        name: str,
        qty: str,
        price: str,
        unit: str,
        day: date | None,
        who: UserSnapshot | None,
        obj: ServiceObjectSnapshot | None,
        description: str | None = None,
        hidden: bool = False,
    ) -> ArticleRowSnapshot:
        return ArticleRowSnapshot(
            number,
            name,
            d(qty),
            d(price),
            unit,
            description,
            day,
            who,
            obj,
            who.cost_center if who else "",
            hidden,
        )

    return OrderSnapshot(
        id=5811,
        kind="service",
        number=1187,
        status="ready",
        subgroup_id=3,
        customer=CustomerSnapshot(
            "10234",
            "Malmö Mekaniska Verkstad AB",
            address1="Industrigatan 14",
            zip_code="212 35",
            city="Malmö",
            country="Sverige",
            subgroup_id=3,
            custom_fields={"Er referens": ""},
        ),
        facility=FacilitySnapshot(
            "Verkstad Hamnen",
            address1="Hamnvägen 3",
            address2="Port 2, lastkajen",
            zip_code="211 20",
            city="Malmö",
            custom_fields={"Referens": "Inköp 4410 / Peter Holm"},
        ),
        contact=ContactSnapshot("Peter Holm", phone="040-12 34 56", email="peter.holm@mmv.se"),
        orderer="Peter Holm",
        assigned_user=OSKAR,
        signed_by=LINNEA,
        signed_at=datetime(2026, 11, 19, 14, 5, tzinfo=UTC),
        signed_customer_name="Peter Holm",
        customer_order_number="4500098812",
        description="Årsservice enligt serviceavtal.\nKompressor GA 30 larmar för hög temperatur.",
        fault_cause="Igensatt oljekylare, slitet luftfilter.",
        actions=(
            ActionSnapshot("Felsökning temperaturlarm, rengjort oljekylare", day1, LINNEA, d("3")),
            ActionSnapshot(
                "Service 8000 h enligt protokoll: bytt luftfilter, oljefilter, "
                "olja och separatorelement",
                day2,
                LINNEA,
                d("5.5"),
            ),
            ActionSnapshot("Service kyltork, kontroll av daggpunkt", day2, OSKAR, d("2")),
            ActionSnapshot("Provkörning och kontroll av larm", day3, LINNEA, d("1.5")),
        ),
        article_rows=(
            row("ARB-SERV", "Servicetekniker", "3", "895", "h", day1, LINNEA, ga30),
            row("RESA", "Resekostnad", "1", "450", "st", day1, LINNEA, None),
            row("2901-0341-00", "Luftfilterelement GA 30", "1", "1240", "st", day2, LINNEA, ga30),
            row("1613-6105-00", "Oljefilter GA 30", "2", "385", "st", day2, LINNEA, ga30),
            row("2901-1700-00", "Roto-Inject Fluid 20 l", "1", "2890", "st", day2, LINNEA, ga30),
            row("ARB-SERV", "Servicetekniker", "5.5", "895", "h", day2, LINNEA, ga30),
            row("ARB-SERV", "Servicetekniker", "2", "895", "h", day2, OSKAR, fx9),
            row(
                "FX-SERV-KIT",
                "Servicekit kyltork FX 9",
                "1",
                "1675",
                "st",
                day2,
                OSKAR,
                fx9,
                description="Servicekit kyltork FX 9 (filter, kondensatavledare och packningar)",
            ),
            row("RESA", "Resekostnad", "1", "450", "st", day2, OSKAR, None),
            row("FÖRBR", "Förbrukningsmaterial", "1", "125", "st", day2, LINNEA, None, hidden=True),
            row("ARB-SERV", "Servicetekniker", "1.5", "895", "h", day3, LINNEA, ga30),
            row("RESA", "Resekostnad", "1", "450", "st", day3, LINNEA, None),
        ),
        service_objects=(
            OrderServiceObjectSnapshot(ga30, d("16112")),
            OrderServiceObjectSnapshot(fx9, None),
        ),
        comments=(
            CommentSnapshot(
                "Karin Johansson",
                datetime(2026, 11, 16, 8, 12, tzinfo=UTC),
                "Kunden vill att vi ringer Peter 30 min innan ankomst.",
            ),
            CommentSnapshot(
                "Linnea Berg",
                datetime(2026, 11, 19, 15, 40, tzinfo=UTC),
                "Oljekylaren bör bytas inom ett år, offert skickas separat.",
            ),
        ),
    )


def work_order() -> OrderSnapshot:
    """AO 2044: an electrical installation, many repeated articles over two days."""
    day1, day2 = date(2026, 11, 9), date(2026, 11, 10)
    rows: list[ArticleRowSnapshot] = []

    def add(
        number: str,
        name: str,
        qty: str,
        price: str,
        unit: str,
        day: date,
        who: UserSnapshot,
        hidden: bool = False,
    ) -> None:
        rows.append(
            ArticleRowSnapshot(
                number,
                name,
                d(qty),
                d(price),
                unit,
                None,
                day,
                who,
                None,
                who.cost_center,
                hidden,
            )
        )

    for day in (day1, day2):
        for who in (JONAS, SARA):
            add("ARB-EL", "Arbete elektriker", "4", "720", "h", day, who)
            add("EKK3G15", "Kabel EKK Light 3G1,5", "25", "9.80", "m", day, who)
            add("DOSA-INF", "Apparatdosa infälld", "4", "18.50", "st", day, who)
            add("ARB-EL", "Arbete elektriker", "3.5", "720", "h", day, who)
            add("EKK3G15", "Kabel EKK Light 3G1,5", "12.5", "9.80", "m", day, who)
        add("FÖRBR", "Förbrukningsmaterial", "1", "180", "st", day, JONAS, hidden=True)
    add("EKK3G15", "Kabel EKK Light 3G1,5", "10", "7.50", "m", day2, JONAS)  # rest of a drum
    add("UTTAG-2V", "Vägguttag 2-vägs jordat vit", "6", "89", "st", day2, SARA)
    add("UTTAG-2V", "Vägguttag 2-vägs jordat vit", "2", "89", "st", day2, SARA)
    return OrderSnapshot(
        id=7302,
        kind="work",
        number=2044,
        status="ready",
        subgroup_id=1,
        customer=CustomerSnapshot(
            "20871",
            "Brf Solgläntan",
            address1="c/o Nabo, Box 7004",
            zip_code="402 31",
            city="Göteborg",
            subgroup_id=2,  # a customer of the sister company: invoiced internally
        ),
        facility=FacilitySnapshot(
            "Brf Solgläntan, Solgläntan 4",
            address1="Solgläntan 4",
            zip_code="418 72",
            city="Göteborg",
        ),
        contact=ContactSnapshot("Maria Ekström", phone="070-987 65 43"),
        orderer="",
        assigned_user=JONAS,
        signed_by=None,
        customer_order_number="Styrelsebeslut 2026-10-28 punkt 7b",
        description="Nya eluttag i tvättstugan och cykelrummet, enligt offert 3381.",
        actions=(
            ActionSnapshot("Dragit kabel och monterat dosor i tvättstugan", day1, JONAS, d("7.5")),
            ActionSnapshot("Dragit kabel i cykelrummet", day1, SARA, d("7.5")),
            ActionSnapshot("Monterat uttag, provning och egenkontroll", day2, JONAS, d("7.5")),
            ActionSnapshot("Monterat uttag och städat", day2, SARA, d("7.5")),
        ),
        article_rows=tuple(rows),
    )


def sales_order() -> OrderSnapshot:
    """FO 3012: a sales order of spare parts, shipped with delivery terms."""
    day = date(2026, 11, 24)
    return OrderSnapshot(
        id=9120,
        kind="sales",
        number=3012,
        status="in_progress",
        subgroup_id=None,
        customer=CustomerSnapshot(
            "30410",
            "Norrlands Tryckluft & Energi Aktiebolag",
            address1="Sågverksvägen 21",
            zip_code="903 38",
            city="Umeå",
            country="Sverige",
            custom_fields={"Er referens": "Ekonomiavdelningen, ref 77-1432"},
        ),
        facility=None,
        contact=ContactSnapshot("Erik Sundberg", phone="090-77 88 99"),
        orderer="Erik Sundberg",
        assigned_user=KARIN,
        customer_order_number="PO-2026-11-0457",
        delivery_date=date(2026, 11, 27),
        custom_fields={"Leveransvillkor": "FCA", "Leveranssätt": "dhl"},
        article_rows=(
            ArticleRowSnapshot(
                "2901-0341-00",
                "Luftfilterelement GA 30",
                d("4"),
                d("1240"),
                "st",
                None,
                day,
                KARIN,
                None,
                "KONT",
            ),
            ArticleRowSnapshot(
                "1613-6105-00",
                "Oljefilter GA 30",
                d("6"),
                d("385"),
                "st",
                None,
                day,
                KARIN,
                None,
                "KONT",
            ),
            ArticleRowSnapshot(
                "2901-1700-00",
                "Roto-Inject Fluid 20 l",
                d("3"),
                d("2890"),
                "st",
                None,
                day,
                KARIN,
                None,
                "KONT",
            ),
            ArticleRowSnapshot(
                "FRAKT", "Frakt", d("1"), d("395"), "st", None, day, KARIN, None, "KONT"
            ),
        ),
        comments=(
            CommentSnapshot(
                "Karin Johansson",
                datetime(2026, 11, 24, 9, 30, tzinfo=UTC),
                "Restnoterat: 2 oljefilter levereras separat v. 49.",
            ),
        ),
    )


ORDER_TEXT = "Betalningsvillkor 30 dagar netto.\nDröjsmålsränta enligt räntelagen."

PROFILES: dict[str, FortnoxSettings] = {
    # What a new integration sends: defaults plus an order text.
    "standard": FortnoxSettings(order_text=ORDER_TEXT),
    # A company that invoices directly and wants the invoice to tell the whole story.
    "detaljerad": FortnoxSettings(
        create_invoice_directly=True,
        sort_by_actions=True,
        include_service_object_on_row=True,
        include_machine_number=True,
        serial_number_max_chars=8,
        service_object_prefix="Maskin: ",
        include_service_object_comment=True,
        set_prices_on_rows=True,
        no_price_article_numbers=("RESA",),
        include_technician_on_rows=True,
        sum_article_rows=True,
        exclude_hidden_articles=True,
        include_technician_on_action_summary=True,
        user_cost_center_on_rows=True,
        ignore_cost_centers_on_rows=("KONT",),
        order_text=ORDER_TEXT,
        summary_in_order_text=True,
        description_in_order_text=True,
        include_operating_hours_in_order_text=True,
        order_number_to_your_order_number=True,
        signer_as_our_reference=True,
        assigned_as_our_reference=True,
        contact_phone_in_your_reference=True,
        include_comments=True,
        order_number_in_comment=True,
        include_sales_order_status=True,
        include_facility_name=True,
        cost_center="MALMÖ",
        internal_invoice_customer="90001",
        send_time_report=True,
    ),
}

ORDERS = {
    "serviceorder": service_order,
    "arbetsorder": work_order,
    "forsaljningsorder": sales_order,
}
CASES = [(order, profile) for order in ORDERS for profile in PROFILES]


def golden_text(result: MappingResult) -> str:
    data = {
        "document_type": result.document_type,
        "reference": result.reference,
        "payload": result.payload,
        "warnings": list(result.warnings),
        "errors": list(result.errors),
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize(("order_name", "profile"), CASES, ids=[f"{o}-{p}" for o, p in CASES])
def test_golden_payload(order_name: str, profile: str, assert_valid_for_fortnox) -> None:  # type: ignore[no-untyped-def]
    result = map_order(ORDERS[order_name](), PROFILES[profile], LOOKUPS)
    assert_valid_for_fortnox(result)
    path = GOLDEN / f"{order_name}__{profile}.json"
    text = golden_text(result)
    if UPDATE:
        if os.environ.get("CI", "").strip().lower() in ("true", "1", "yes"):
            pytest.fail("UPDATE_GOLDEN is refused under CI: it rewrites what it checks against")
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(exist_ok=True)
            path.write_text(text, encoding="utf-8")
            # Not a pass: nothing was compared. Read the file's diff before committing it.
            pytest.skip(f"{path.name} rewritten (UPDATE_GOLDEN=1): read its diff")
    assert path.exists(), f"{path.name} is missing: run with UPDATE_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8")
