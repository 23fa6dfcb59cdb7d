"""Small factory helpers building domain rows through the services (flush only)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.articles.services import create_article
from app.customers.services import create_customer, create_facility, create_service_object
from app.extensions import db


def customer(**data: Any):  # type: ignore[no-untyped-def]
    data.setdefault("name", "Verkstads AB")
    obj = create_customer(data)
    db.session.commit()
    return obj


def facility(customer_obj: Any, **data: Any):  # type: ignore[no-untyped-def]
    data.setdefault("name", "Huvudverkstaden")
    obj = create_facility({"customer_id": customer_obj.id, **data})
    db.session.commit()
    return obj


def service_object(facility_obj: Any, **data: Any):  # type: ignore[no-untyped-def]
    data.setdefault("name", "ATLAS COPCO GA 10")
    obj = create_service_object({"facility_id": facility_obj.id, **data})
    db.session.commit()
    return obj


def article(number: str = "1001", **data: Any):  # type: ignore[no-untyped-def]
    data.setdefault("name", f"Oljefilter {number}")
    data.setdefault("unit", "st")
    data.setdefault("price", Decimal("250.00"))
    obj = create_article({"article_number": number, **data})
    db.session.commit()
    return obj
