"""The send reference (fortnox-settings.md §2): unique to an order, the same on every send,
at most 80 characters, stored in Fortnox's `ExternalInvoiceReference1` so that a send can
find a document it may already have created."""

from __future__ import annotations

from app.orders.models import Order


def send_reference(order: Order) -> str:
    # The database id makes it unique even if numbering were ever reset; the display number
    # lets the accountant read it.
    return f"ordna:{order.id}:{order.kind.prefix}{order.number}"[:80]
