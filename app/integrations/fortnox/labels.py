"""The Fortnox document fields in Swedish, for the preview of an order ("Förhandsgranska i
Fortnox-format"): one mapping from the Fortnox field name to the label users read, so every
page says the same. The page shows the Fortnox name small beside each label for support."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

FIELD_LABELS = {
    # header
    "CustomerNumber": _l("Kundnummer"),
    "YourReference": _l("Er referens"),
    "OurReference": _l("Vår referens"),
    "YourOrderNumber": _l("Ert ordernummer"),
    "ExternalInvoiceReference1": _l("Sändningsreferens"),
    "CostCenter": _l("Kostnadsställe"),
    "DeliveryName": _l("Leveransnamn"),
    "DeliveryAddress1": _l("Leveransadress"),
    "DeliveryAddress2": _l("Leveransadress 2"),
    "DeliveryZipCode": _l("Leveranspostnummer"),
    "DeliveryCity": _l("Leveransort"),
    "DeliveryCountry": _l("Leveransland"),
    "DeliveryDate": _l("Leveransdatum"),
    "TermsOfDelivery": _l("Leveransvillkor"),
    "WayOfDelivery": _l("Leveranssätt"),
    "Remarks": _l("Ordertext"),
    "Comments": _l("Kommentarer"),
    # rows
    "ArticleNumber": _l("Artikelnummer"),
    "Description": _l("Benämning"),
    "DeliveredQuantity": _l("Antal"),
    "OrderedQuantity": _l("Beställt antal"),
    "Unit": _l("Enhet"),
    "Price": _l("À-pris"),
}

# The header fields the preview lists, in this order (Remarks and Comments follow as text).
HEADER_FIELDS = (
    "CustomerNumber",
    "OurReference",
    "YourReference",
    "YourOrderNumber",
    "DeliveryName",
    "DeliveryAddress1",
    "DeliveryAddress2",
    "DeliveryZipCode",
    "DeliveryCity",
    "DeliveryCountry",
    "DeliveryDate",
    "CostCenter",
    "TermsOfDelivery",
    "WayOfDelivery",
    "ExternalInvoiceReference1",
)


def field_label(name: str) -> str:
    """The Swedish label of a Fortnox field (its own name when there is none)."""
    label = FIELD_LABELS.get(name)
    return str(label) if label is not None else name


def fortnox_name(name: str) -> Markup:
    """The Fortnox field name with line-break opportunities between its words only
    (``Delivery<wbr>Zip<wbr>Code``), so a narrow screen never breaks it mid-word."""
    return Markup("<wbr>").join(escape(part) for part in re.split(r"(?<=[a-z])(?=[A-Z])", name))


@dataclass(frozen=True)
class PreviewRow:
    """A document row as the preview shows it: numbers as Decimals for the number filters."""

    article_number: str
    description: str
    quantity: Decimal | None
    unit: str
    price: Decimal | None
    cost_center: str

    @property
    def is_text(self) -> bool:
        return not self.article_number

    @property
    def amount(self) -> Decimal | None:
        if self.quantity is None or self.price is None:
            return None
        return self.quantity * self.price


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def preview_rows(rows: list[dict[str, Any]]) -> list[PreviewRow]:
    return [
        PreviewRow(
            article_number=str(row.get("ArticleNumber") or ""),
            description=str(row.get("Description") or ""),
            quantity=_decimal(row.get("DeliveredQuantity", row.get("OrderedQuantity"))),
            unit=str(row.get("Unit") or ""),
            price=_decimal(row.get("Price")),
            cost_center=str(row.get("CostCenter") or ""),
        )
        for row in rows
    ]


def rows_total(rows: list[PreviewRow]) -> Decimal | None:
    """The sum of the article rows, when every one of them carries a price (else Fortnox
    prices them itself and we don't know the sum)."""
    articles = [row for row in rows if not row.is_text]
    if not articles or any(row.amount is None for row in articles):
        return None
    return sum((row.amount for row in articles if row.amount is not None), Decimal(0))
