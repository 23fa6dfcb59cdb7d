"""Fixtures for the mapping tests: a realistic order that every setting has something to act
on, the lookups that accept its codes, and schema validation against Fortnox's OpenAPI file
(through the sandbox's ``fortnox_sandbox.schema``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from app.integrations.fortnox.mapping import MappingResult
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

ANNA = UserSnapshot("Anna Svensson", id=1, employee_number="1001", cost_center="200")
BO = UserSnapshot("Bo Ek", id=2, employee_number="1002", cost_center="300")
GA10 = ServiceObjectSnapshot(
    "ATLAS COPCO GA 10",
    id=1,
    machine_number="M-77",
    serial_number="API123456789",
    comment="Serviceintervall 2000 h",
)
FD20 = ServiceObjectSnapshot("Kyltork FD 20", id=2)
NOV20, NOV21 = date(2026, 11, 20), date(2026, 11, 21)
# Where most of the reference order's rows were worked: by Anna, at GA 10, on 21/11.
ANNA_AT_GA10: dict[str, Any] = dict(
    date=NOV21, technician=ANNA, service_object=GA10, cost_center="200"
)


def make_order(**overrides: Any) -> OrderSnapshot:
    """The reference order of the settings table (a service order, SO 1042).

    Rows in entry order: F100 ×2 (Anna, GA 10, 21/11), ARB 2,5 h (Anna, GA 10, 21/11),
    ARB 1 h (Bo, FD 20, 20/11), F100 ×1 (Anna, GA 10, 21/11), hidden MILJO (Anna, 21/11),
    RESA without date, technician, service object or cost center.
    """
    values: dict[str, Any] = dict(
        id=7,
        kind="service",
        number=1042,
        status="ready",
        subgroup_id=1,
        customer=CustomerSnapshot(
            "1001",
            "Bageriet Söder AB",
            address1="Storgatan 1",
            address2="Box 12",
            zip_code="111 22",
            city="Stockholm",
            country="Sverige",
            subgroup_id=1,
        ),
        facility=FacilitySnapshot(
            "Bageriet Götgatan", address1="Götgatan 5", zip_code="116 46", city="Stockholm"
        ),
        contact=ContactSnapshot("Eva Lind", phone="070-123 45 67", email="eva@bageriet.se"),
        orderer="Per Ek",
        assigned_user=BO,
        signed_by=ANNA,
        signed_at=datetime(2026, 11, 21, 15, 0, tzinfo=UTC),
        signed_customer_name="Eva Lind",
        customer_order_number="PO-778",
        description="Kompressorn larmar\nför högt tryck",
        fault_cause="Igensatt filter",
        actions=(
            ActionSnapshot("Bytt luftfilter", NOV21, ANNA, Decimal("2.5")),
            ActionSnapshot("Felsökning av larm", NOV20, BO, Decimal("1")),
        ),
        article_rows=(
            ArticleRowSnapshot(
                "F100", "Luftfilter GA 10", Decimal("2"), Decimal("450.00"), "st", **ANNA_AT_GA10
            ),
            ArticleRowSnapshot(
                "ARB", "Arbete", Decimal("2.5"), Decimal("650"), "h", **ANNA_AT_GA10
            ),
            ArticleRowSnapshot(
                "ARB",
                "Arbete",
                Decimal("1"),
                Decimal("650"),
                "h",
                date=NOV20,
                technician=BO,
                service_object=FD20,
                cost_center="300",
            ),
            ArticleRowSnapshot(
                "F100", "Luftfilter GA 10", Decimal("1"), Decimal("450"), "st", **ANNA_AT_GA10
            ),
            ArticleRowSnapshot(
                "MILJO",
                "Miljöavgift",
                Decimal("1"),
                Decimal("95"),
                "st",
                date=NOV21,
                technician=ANNA,
                cost_center="200",
                hidden=True,
            ),
            ArticleRowSnapshot("RESA", "Resa", Decimal("1"), Decimal("300"), "st"),
        ),
        service_objects=(
            OrderServiceObjectSnapshot(GA10, Decimal("12345.5")),
            OrderServiceObjectSnapshot(FD20, None),
        ),
        comments=(
            CommentSnapshot("Bo Ek", datetime(2026, 11, 21, 10, 0, tzinfo=UTC), "Klart"),
            CommentSnapshot(
                "Anna Svensson", datetime(2026, 11, 20, 9, 0, tzinfo=UTC), "Kund ringde om larm"
            ),
        ),
    )
    values.update(overrides)
    return OrderSnapshot(**values)


LOOKUPS = Lookups(
    cost_centers=frozenset({"100", "200", "300"}),
    terms_of_delivery=frozenset({"FVL", "FRITT"}),
    ways_of_delivery=frozenset({"BIL", "POST"}),
    cost_centers_synced=True,
    terms_of_delivery_synced=True,
    ways_of_delivery_synced=True,
)


@pytest.fixture(scope="session")
def make_snapshot() -> Callable[..., OrderSnapshot]:
    """``make_snapshot(**overrides)``: the reference order with fields replaced."""
    return make_order


@pytest.fixture(scope="session")
def synced_lookups() -> Lookups:
    return LOOKUPS


def schema_problems(result: MappingResult) -> list[str]:
    """What Fortnox's OpenAPI description (with the conservative legacy limits) says is wrong
    with the result's payload as ``POST /3/orders`` or ``/3/invoices``."""
    from fortnox_sandbox.schema import validate_request

    return validate_request("POST", result.path, result.payload, legacy=True)


@pytest.fixture(scope="session")
def assert_valid_for_fortnox() -> Callable[[MappingResult], None]:
    """``assert_valid_for_fortnox(result)``: the payload passes Fortnox's schema."""

    def check(result: MappingResult) -> None:
        problems = schema_problems(result)
        assert not problems, problems

    return check
