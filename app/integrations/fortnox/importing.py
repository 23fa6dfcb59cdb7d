"""A new order from a Fortnox order ("Skapa order från referens", fortnox-settings.md §7
`create_order_from_reference`): "Integrationsreferens" + "Hämta order" on the new-order form.

The Fortnox order's customer, references and rows are copied; rows whose article we do not
have are left out and named, so nobody is surprised by a missing line. The new order is linked
to that Fortnox order, so sending it updates the same document instead of creating another."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from app.articles.services import articles_by_numbers
from app.auth.models import User
from app.customers.models import Customer
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.integrations.fortnox import services
from app.integrations.fortnox.errors import FortnoxError, FortnoxNotFound
from app.integrations.models import FortnoxIntegration
from app.orders.models import Order, OrderKind
from app.orders.services import create_order

FIELD = "reference"
_NUMBER = re.compile(r"\d{1,10}")


@dataclass
class Imported:
    order: Order
    unknown_articles: list[str] = field(default_factory=list)


def integration_for_import(subgroup_id: int | None) -> FortnoxIntegration | None:
    """The connected integration that would handle an order of ``subgroup_id``, when its
    ``create_order_from_reference`` is on."""
    integration = None
    if subgroup_id is not None:
        integration = services.integration_for_subgroup(subgroup_id)
    if integration is None or not integration.encrypted_tokens:
        integration = services.integration_for_subgroup(None)
    if integration is None or not integration.encrypted_tokens:
        return None
    if not services.settings_of(integration).create_order_from_reference:
        return None
    return integration


def order_from_reference(reference: str, *, kind: OrderKind, by: User) -> Imported:
    """Create a draft order from the Fortnox order numbered ``reference``; flushes, the caller
    commits. Raises ValidationFailed (field ``reference``) for a malformed or unknown number or
    a customer we do not have, Conflict when the setting is off, no integration is connected,
    the Fortnox order is already linked to an order here, or Fortnox cannot be reached."""
    number = (reference or "").strip()
    if not _NUMBER.fullmatch(number):
        raise ValidationFailed.field(FIELD, "Ange ordernumret i Fortnox (bara siffror).")
    integration = integration_for_import(by.subgroup_id)
    if integration is None:
        raise Conflict(
            "Att hämta ordrar från Fortnox är inte påslaget. En administratör slår på "
            "”Skapa order från referens” under Inställningar → Integration.",
            code="import_off",
        )
    taken = db.session.scalar(
        select(Order).where(
            Order.fortnox_document_type == "Order", Order.fortnox_document_number == number
        )
    )
    if taken is not None:
        raise ValidationFailed.field(
            FIELD, f"Fortnox-order {number} är redan hämtad till {taken.display_number}."
        )
    client = services.client_for(integration)
    try:
        document = client.get_order(number)
    except FortnoxNotFound:
        raise ValidationFailed.field(FIELD, f"Order {number} finns inte i Fortnox.") from None
    except FortnoxError as exc:
        raise Conflict(exc.user_message, code="fortnox_error") from exc
    finally:
        client.close()

    customer_number = str(document.get("CustomerNumber") or "")
    customer = db.session.scalar(
        select(Customer).where(Customer.customer_number == customer_number)
    )
    if customer is None:
        raise ValidationFailed.field(
            FIELD,
            f"Kunden {customer_number} på Fortnox-ordern finns inte i Ordna. Synka kunderna "
            "från Fortnox eller lägg upp kunden och försök igen.",
        )
    rows, texts, unknown = _rows(document.get("OrderRows") or [])
    data: dict[str, Any] = {
        "kind": kind.value,
        "customer_id": customer.id,
        "customer_order_number": _text(document.get("YourOrderNumber"), 60),
        "orderer": _text(document.get("YourReference"), 120),
        "description": "\n".join(texts) or None,
        "article_rows": rows,
    }
    order = create_order({k: v for k, v in data.items() if v not in (None, "")}, by=by)
    order.fortnox_document_type = "Order"
    order.fortnox_document_number = number
    db.session.flush()
    return Imported(order, unknown)


def _text(value: object, limit: int) -> str | None:
    text = str(value or "").strip()
    return text[:limit] or None


def _decimal(value: object) -> Decimal | None:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _rows(
    fortnox_rows: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[str], list[str]]:
    """Our article rows, the text rows' texts, and the article numbers we do not have."""
    numbers = [str(r.get("ArticleNumber") or "").strip() for r in fortnox_rows]
    ours = articles_by_numbers([n for n in numbers if n])
    rows: list[dict[str, Any]] = []
    texts: list[str] = []
    unknown: list[str] = []
    for row, number in zip(fortnox_rows, numbers, strict=True):
        description = str(row.get("Description") or "").strip()
        if not number:
            if description:
                texts.append(description)
            continue
        article = ours.get(number.lower())
        if article is None:
            if number not in unknown:
                unknown.append(number)
            continue
        quantity = _decimal(row.get("DeliveredQuantity")) or _decimal(row.get("OrderedQuantity"))
        item: dict[str, Any] = {
            "article_number": article.article_number,
            "quantity": abs(quantity) if quantity is not None else Decimal(1),
        }
        price = _decimal(row.get("Price"))
        if price is not None and price >= 0:
            item["price"] = price
        if description and description != article.name:
            item["description"] = description[:200]
        unit = str(row.get("Unit") or "").strip()
        if unit:
            item["unit"] = unit[:20]
        rows.append(item)
    return rows, texts, unknown
