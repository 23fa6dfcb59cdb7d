"""The Fortnox sandbox the integration tests talk to over real HTTP: a sandbox server per
module, a tenant in it, ``connect()`` and ready orders to send.

The app is pointed at the sandbox only where a module asks for it, by overriding
``app_config`` with :func:`sandbox_config` (plus what the module needs besides)::

    @pytest.fixture
    def app_config(sandbox_config):
        return sandbox_config

Elsewhere (the mapping tests, the preview without Fortnox…) the app keeps the test config's
unreachable Fortnox address."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from app.extensions import db
from app.integrations.models import FortnoxIntegration
from app.orders.models import Order, OrderStatus
from app.orders.services import create_order
from fortnox_sandbox.testing import SandboxServer, serve
from tests import factories
from tests.fortnox_world import connect_to_sandbox


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    with serve() as server:
        yield server


@pytest.fixture
def sandbox_config(sandbox: SandboxServer) -> dict[str, Any]:
    """The app's Fortnox URLs on the module's sandbox, emptied for the test."""
    sandbox.reset()
    return {"FORTNOX_API_URL": sandbox.api_url, "FORTNOX_OAUTH_URL": sandbox.oauth_url}


@pytest.fixture
def tenant(sandbox: SandboxServer) -> Any:
    return sandbox.create_tenant("Kylteknik i Väst AB", "556123-4567")


@pytest.fixture
def connect(app: Any, sandbox: SandboxServer, tenant: Any) -> Callable[..., FortnoxIntegration]:
    """``connect(**settings)``: connect the organisation-wide integration to the sandbox
    tenant with real tokens, ``settings`` applied; committed."""

    def do_connect(**settings: Any) -> FortnoxIntegration:
        return connect_to_sandbox(sandbox, tenant, **settings)

    return do_connect


@pytest.fixture
def ready_order(make_user: Any) -> Callable[..., Order]:
    """``ready_order(status="ready", customer_number="7001", **fields)``: a work order by a
    technician for a new customer, with two new articles (``A<number>``, ``T<number>``) on it;
    committed."""

    def make(status: str = "ready", customer_number: str = "7001", **extra: Any) -> Order:
        tech = make_user("technician", name="Tove Tekniker")
        customer = factories.customer(
            customer_number=customer_number,
            name=f"Verkstad {customer_number} AB",
            email="faktura@verkstad.test",
        )
        facility = factories.facility(customer, name="Lagret", address1="Hamngatan 1")
        factories.article(f"A{customer_number}", name="Oljefilter", price=Decimal("250"))
        factories.article(f"T{customer_number}", name="Arbetstid", unit="tim", price=Decimal(850))
        order = create_order(
            {
                "kind": "work",
                "customer_id": customer.id,
                "facility_id": facility.id,
                "actions": [{"date": date(2026, 11, 20), "description": "Bytt tryckvakt"}],
                "article_rows": [
                    {"article_number": f"A{customer_number}", "quantity": Decimal("2")},
                    {"article_number": f"T{customer_number}", "quantity": Decimal("1.5")},
                ],
                **extra,
            },
            by=tech,
        )
        order.status = OrderStatus(status)
        db.session.commit()
        return order

    return make
