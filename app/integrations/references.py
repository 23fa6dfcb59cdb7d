"""The send reference (fortnox-settings.md §2) of an order, as the mapping builds it."""

from __future__ import annotations

from app.integrations.fortnox.mapping import send_reference as _send_reference
from app.orders.models import Order


def send_reference(order: Order) -> str:
    """Unique to the order, the same on every send, sent as `ExternalInvoiceReference1`."""
    return _send_reference(order.id)
