"""The service protocol PDF: what it shows, prices only with the setting, a long order over
several pages without losing or splitting a row, "Ej signerad" when unsigned, and who may
download it (web page and `GET /api/v1/orders/{id}/protocol.pdf`)."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pypdf import PdfReader

from app.articles.services import find_article_by_number, update_article
from app.auth.models import Subgroup
from app.extensions import db
from app.orders.protocol import render_protocol
from app.orders.services import add_comment, create_order, sign_order, update_order
from app.settings.services import protocol_shows_prices, set_setting
from tests import factories
from tests.signatures import drawn_png


def pages(pdf: bytes) -> list[str]:
    """Each page's text, whitespace (Swedish digit grouping too) folded to single spaces."""
    assert pdf.startswith(b"%PDF-")
    return [
        re.sub(r"[\s\u00a0\u202f]+", " ", page.extract_text() or "")
        for page in PdfReader(io.BytesIO(pdf)).pages
    ]


def text(pdf: bytes) -> str:
    return " ".join(pages(pdf))


@pytest.fixture
def world(app, make_user) -> dict[str, Any]:
    west = Subgroup(name="Väst")
    db.session.add(west)
    db.session.commit()
    tech = make_user("technician", name="Tove Tekniker", subgroup=west)
    customer = factories.customer(
        name="Verkstads AB i Borås",
        customer_number="2001",
        address1="Industrigatan 4",
        zip_code="504 62",
        city="Borås",
        contacts=[{"name": "Eva Ek", "phone": "070-123 45 67", "email": "eva@verkstads.se"}],
    )
    facility = factories.facility(customer, name="Huvudverkstaden", city="Borås")
    compressor = factories.service_object(
        facility, name="ATLAS COPCO GA 10", machine_number="K1", serial_number="API123456"
    )
    truck = factories.service_object(facility, name="Linde E20", machine_number="T7")
    factories.article("1001", name="Oljefilter typ A", unit="st", price=Decimal("250.00"))
    factories.article("1002", name="Luftfilter typ B", unit="st", price=Decimal("95.50"))
    factories.article("T01", name="Arbetstid tekniker", unit="tim", price=Decimal("850.00"))
    order = create_order(
        {
            "kind": "service",
            "customer_id": customer.id,
            "facility_id": facility.id,
            "contact_id": customer.contacts[0].id,
            "subgroup_id": west.id,
            "customer_order_number": "PO-778",
            "description": "Årlig service av kompressorn",
            "fault_cause": "Tryckvakten löser ut vid start",
            "actions": [
                {
                    "date": date(2026, 3, 2),
                    "description": "Bytt tryckvakt och provkört",
                    "hours": Decimal("1.5"),
                    "technician_id": tech.id,
                },
                {
                    "date": date(2026, 3, 3),
                    "description": "Efterkontroll",
                    "hours": Decimal("0.5"),
                    "technician_id": tech.id,
                },
            ],
            "article_rows": [
                {"article_number": "1001", "quantity": Decimal("2")},
                {"article_number": "1002", "quantity": Decimal("1")},
                {
                    "article_number": "T01",
                    "quantity": Decimal("1.5"),
                    "service_object_id": compressor.id,
                },
            ],
            "service_objects": [
                {"service_object_id": compressor.id, "operating_hours": Decimal("12345.5")},
                {"service_object_id": truck.id, "operating_hours": Decimal("873")},
            ],
        },
        by=tech,
    )
    add_comment(order, "Kunden vill ha offert på ny kompressor.", by=tech)
    db.session.commit()
    return {"order": order, "tech": tech, "west": west, "customer": customer}


def test_the_protocol_shows_the_order_the_work_and_the_signature(world):
    order = world["order"]
    sign_order(order, by=world["tech"], customer_name="Kalle Kund", signature=drawn_png())
    db.session.commit()

    pdf = render_protocol(order)

    shown = text(pdf)
    for expected in [
        "Ordna Demo AB",  # ORGANISATION_NAME
        "Serviceprotokoll",
        "Serviceorder SO 1001",
        "Kundens ordernummer: PO-778",
        "Verkstads AB i Borås",
        "Kundnummer 2001",
        "Industrigatan 4",
        "Huvudverkstaden",
        "Eva Ek",
        "070-123 45 67",
        "eva@verkstads.se",
        "Årlig service av kompressorn",
        "Tryckvakten löser ut vid start",
        "ATLAS COPCO GA 10 K1 API123456 12 345,5",
        "Linde E20 T7 – 873",
        "2026-03-02",
        "Tove Tekniker 1,5 Bytt tryckvakt och provkört",
        "2026-03-03",
        "Efterkontroll",
        "Summa timmar 2",
        "1001 Oljefilter typ A 2 st",
        "1002 Luftfilter typ B 1 st",
        "T01 Arbetstid tekniker",
        "Kunden vill ha offert på ny kompressor.",
        "Kalle Kund",
        "Namnförtydligande",
        "Signerad ",
    ]:
        assert expected in shown, expected
    assert "Ej signerad" not in shown
    first = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(first.mediabox.width), round(first.mediabox.height)) == (595, 842)  # A4
    last = PdfReader(io.BytesIO(pdf)).pages[-1]
    assert len(last.images) == 1  # the drawn signature


def test_an_unsigned_protocol_says_so_plainly(world):
    shown = text(render_protocol(world["order"]))
    assert "Ej signerad" in shown
    assert "Namnförtydligande" not in shown


def test_a_signature_by_name_only_is_shown_without_a_drawing(world):
    sign_order(world["order"], by=world["tech"], customer_name="Kalle Kund")
    db.session.commit()
    pdf = render_protocol(world["order"])
    assert "Ingen ritad signatur" in text(pdf) and "Kalle Kund" in text(pdf)
    assert not PdfReader(io.BytesIO(pdf)).pages[-1].images


def test_prices_appear_only_with_the_setting(world, make_user):
    without = text(render_protocol(world["order"]))
    assert "À-pris" not in without and "250,00" not in without and "Summa exkl. moms" not in without

    set_setting("protocol_show_prices", True, by=make_user("admin"))
    db.session.commit()
    with_prices = text(render_protocol(world["order"]))
    assert "À-pris" in with_prices
    assert "1001 Oljefilter typ A 2 st 250,00 500,00" in with_prices
    assert "Summa exkl. moms (kr) 1 870,50" in with_prices


def test_articles_hidden_at_printing_are_left_out(world):
    update_article(find_article_by_number("1002"), {"hidden": True})
    db.session.commit()
    shown = text(render_protocol(world["order"]))
    assert "Luftfilter typ B" not in shown and "Oljefilter typ A" in shown


def test_a_sixty_row_order_spans_pages_without_losing_or_splitting_a_row(world):
    for n in range(60):
        factories.article(
            f"R{n:03d}",
            name=f"Reservdel {n:03d} med en benämning som bryts på två rader i tabellen",
            unit="st",
        )
    order = world["order"]
    update_order(
        order,
        {"article_rows": [{"article_number": f"R{n:03d}", "quantity": n + 1} for n in range(60)]},
        by=world["tech"],
    )
    db.session.commit()

    by_page = pages(render_protocol(order))

    assert len(by_page) >= 3
    numbers = [re.findall(r"\bR(\d{3})\b", page) for page in by_page]
    assert [int(n) for page in numbers for n in page] == list(range(60)), "each row once, in order"
    for page, found in zip(by_page, numbers, strict=True):
        for n in found:
            # The whole row on the page where it starts: number, both lines of the name, quantity.
            row = (
                f"R{n} Reservdel {n} med en benämning som bryts på två rader i tabellen "
                f"{int(n) + 1} st"
            )
            assert row in page, row
        if found:
            assert "Artikelnr Benämning Antal Enhet" in page  # the header repeats on each page


def test_the_protocol_is_swedish_for_a_user_who_reads_english(client, make_user, world):
    world["tech"].locale = "en"
    db.session.commit()
    client.post("/login", data={"email": world["tech"].email, "password": "secret-password"})
    assert "Orders" in client.get("/").get_data(as_text=True)  # the UI is in English
    response = client.get(f"/orders/{world['order'].id}/protocol.pdf")
    shown = text(response.data)
    assert "Åtgärder" in shown and "Ej signerad" in shown and "12 345,5" in shown


# --- downloading ------------------------------------------------------------------------------


def test_the_order_page_offers_the_pdf_as_a_download(client, login, world):
    login("office")
    page = client.get(f"/orders/{world['order'].id}").get_data(as_text=True)
    assert f'href="/orders/{world["order"].id}/protocol.pdf"' in page
    assert "Serviceprotokoll (PDF)" in page
    response = client.get(f"/orders/{world['order'].id}/protocol.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "serviceprotokoll-SO-1001.pdf" in response.headers["Content-Disposition"]
    assert "Verkstads AB i Borås" in text(response.data)


def test_a_technician_of_another_subgroup_gets_403(client, login, world):
    south = Subgroup(name="Syd")
    db.session.add(south)
    db.session.commit()
    login("technician", subgroup=south)
    assert client.get(f"/orders/{world['order'].id}/protocol.pdf").status_code == 403


def test_the_api_serves_the_protocol(api, world):
    tech = api("technician", subgroup=world["west"])
    response = tech.get(f"/orders/{world['order'].id}/protocol.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "1001 Oljefilter typ A" in text(response.data)
    south = Subgroup(name="Syd")
    db.session.add(south)
    db.session.commit()
    assert (
        api("technician", subgroup=south)
        .get(f"/orders/{world['order'].id}/protocol.pdf")
        .status_code
        == 403
    )
    missing = tech.get("/orders/99999/protocol.pdf")
    assert missing.status_code == 404 and missing.is_json
    assert tech.client.get(f"/api/v1/orders/{world['order'].id}/protocol.pdf").status_code == 401
    spec = tech.client.get("/api/v1/openapi.json").json
    operation = spec["paths"]["/api/v1/orders/{order_id}/protocol.pdf"]["get"]
    assert "application/pdf" in operation["responses"]["200"]["content"]


# --- the setting ------------------------------------------------------------------------------


def test_the_admin_turns_prices_on_the_protocol_on_and_off(client, login):
    login("admin")
    page = client.get("/settings/protocol").get_data(as_text=True)
    assert "Visa priser på protokollet" in page
    response = client.post("/settings/protocol", data={"show_prices": "y"})
    assert response.status_code == 302
    assert protocol_shows_prices() is True
    client.post("/settings/protocol", data={"show_prices": ""})
    db.session.expire_all()
    assert protocol_shows_prices() is False


@pytest.mark.parametrize("role", ["office", "technician"])
def test_only_the_admin_changes_the_protocol_settings(client, login, role):
    login(role)
    assert client.get("/settings/protocol").status_code == 403
    assert client.post("/settings/protocol", data={"show_prices": "y"}).status_code == 403
    assert "/settings/protocol" not in client.get("/").get_data(as_text=True)
