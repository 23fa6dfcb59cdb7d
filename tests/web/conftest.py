"""A small world for the web pages: two subgroups, a customer with a facility and machines,
a few articles and a work order in subgroup Väst."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from app.auth.models import Subgroup
from app.customfields.services import create_definition
from app.extensions import db
from app.orders.services import create_order
from tests import factories


@dataclass
class World:
    west: Any
    south: Any
    customer: Any
    facility: Any
    compressor: Any
    truck: Any
    oil_filter: Any
    air_filter: Any
    labour: Any
    order: Any
    office: Any


@pytest.fixture
def world(app, make_user) -> World:  # type: ignore[no-untyped-def]
    west, south = Subgroup(name="Väst"), Subgroup(name="Syd")
    db.session.add_all([west, south])
    db.session.commit()
    office = make_user("office", name="Kim Kontor")
    customer = factories.customer(name="Verkstads AB", customer_number="2001")
    facility = factories.facility(customer, name="Huvudverkstaden", city="Borås")
    compressor = factories.service_object(facility, name="ATLAS COPCO GA 10", machine_number="K1")
    truck = factories.service_object(facility, name="Linde E20", machine_number="T7")
    oil_filter = factories.article("1001", name="Oljefilter typ A", price=Decimal("250.00"))
    air_filter = factories.article(
        "1002", name="Luftfilter typ B", unit="st", price=Decimal("95.50")
    )
    labour = factories.article("T01", name="Arbetstid tekniker", unit="tim", price=Decimal("850"))
    order = create_order(
        {"kind": "work", "customer_id": customer.id, "subgroup_id": west.id}, by=office
    )
    db.session.commit()
    return World(
        west,
        south,
        customer,
        facility,
        compressor,
        truck,
        oil_filter,
        air_filter,
        labour,
        order,
        office,
    )


def order_form(order: Any, **overrides: Any) -> dict[str, Any]:
    """The order page's fields as the browser posts them, for `order` as it stands."""
    data: dict[str, Any] = {
        "customer_id": str(order.customer_id),
        "facility_id": str(order.facility_id or ""),
        "contact_id": str(order.contact_id or ""),
        "orderer": order.orderer or "",
        "assigned_user_id": str(order.assigned_user_id or ""),
        "customer_order_number": order.customer_order_number or "",
        "description": order.description or "",
        "fault_cause": order.fault_cause or "",
        "customer_name": "",
        "comment": "",
        "confirm_unsign": "",
        "version": str(order.version),  # the page's hidden field (optimistic locking)
    }
    data.update(overrides)
    return data


def make_field(entity: str, name: str) -> None:
    create_definition(entity, name)
    db.session.commit()


def field_value(html: str, name: str) -> str | None:
    """The value an <input name=…> or <textarea name=…> shows in `html` (None: no such field)."""
    import html as html_lib
    import re

    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', html)
    if tag:
        value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
        return html_lib.unescape(value.group(1)) if value else ""
    area = re.search(rf'<textarea[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</textarea>', html, re.S)
    return html_lib.unescape(area.group(1)).lstrip("\r\n") if area else None


def selected_value(html: str, name: str) -> str | None:
    import re

    select = re.search(rf'<select[^>]*\bname="{re.escape(name)}"[^>]*>(.*?)</select>', html, re.S)
    if not select:
        return None
    chosen = re.search(
        r'<option[^>]*\bselected\b[^>]*value="([^"]*)"|<option[^>]*value="([^"]*)"[^>]*\bselected\b',
        select.group(1),
    )
    return (chosen.group(1) or chosen.group(2)) if chosen else None
