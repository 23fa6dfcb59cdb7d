"""What the order page posts, as the plain changes the order services take (the web layer's
side of `services.update_order`).

The page is one form, and every button posts all of it, every work list included (so nothing
typed anywhere is lost). `update_order` takes a list it is given as a change, and a changed
list clears a signature; `changes` therefore drops the lists that hold exactly what the order
already holds. `saved_differently` compares a stale page with what was saved meanwhile
(optimistic locking, issue #17)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from app.articles.services import articles_by_numbers
from app.customfields.services import clean_custom_fields
from app.errors import ValidationFailed
from app.formfields import custom_field_values, optional_int
from app.orders.forms import ActionForm, ArticleRowForm, OrderForm
from app.orders.models import ArticleRow, Order
from app.orders.services import CUSTOM_FIELD_ENTITY

# The order's work: lists of rows the page shows and posts whole.
WORK_LISTS = ("actions", "article_rows", "service_objects")


def changes(order: Order, form: OrderForm) -> dict[str, Any]:
    """`update_order`'s data from the validated order page: every field, but the work lists
    that hold what `order` holds now."""
    return strip_unchanged_work(order, order_data(form))


def action_data(form: ActionForm) -> dict[str, Any]:
    return {
        "date": form.date.data,
        "description": form.description.data.strip(),
        "technician_id": form.technician_id.data,
        "hours": form.hours.data,
    }


def article_row_data(form: ArticleRowForm) -> dict[str, Any]:
    row = {
        "article_number": form.article_number.data.strip(),
        "description": (form.description.data or "").strip() or None,
        "quantity": form.quantity.data,
        "unit": (form.unit.data or "").strip() or None,
        "price": form.price.data,
        "date": form.date.data,
        "technician_id": form.technician_id.data,
        "service_object_id": form.service_object_id.data,
    }
    original = optional_int(form.original_technician_id.data or None)
    if original is not None and original == form.technician_id.data:
        row["cost_center"] = form.cost_center.data or None
    return row


def order_data(form: OrderForm) -> dict[str, Any]:
    """The service's data (`update_order`) from a validated order form."""
    data: dict[str, Any] = {
        "customer_id": form.customer_id.data,
        "facility_id": form.facility_id.data,
        "contact_id": form.contact_id.data,
        "orderer": (form.orderer.data or "").strip() or None,
        "assigned_user_id": form.assigned_user_id.data,
        "customer_order_number": (form.customer_order_number.data or "").strip() or None,
        "description": (form.description.data or "").strip() or None,
        "fault_cause": (form.fault_cause.data or "").strip() or None,
        "actions": [action_data(entry.form) for entry in form.actions],
        "article_rows": [article_row_data(entry.form) for entry in form.article_rows],
        "service_objects": [
            {
                "service_object_id": entry.form.service_object_id.data,
                "operating_hours": entry.form.operating_hours.data,
            }
            for entry in form.service_objects
        ],
    }
    if "delivery_date" in form:
        data["delivery_date"] = form.delivery_date.data
    if "subgroup_id" in form:
        data["subgroup_id"] = form.subgroup_id.data
    if "custom_fields" in form:
        data["custom_fields"] = custom_field_values(form.custom_fields.form)
    return data


def strip_unchanged_work(order: Order, data: dict[str, Any]) -> dict[str, Any]:
    """`data` without the work lists (`actions`, `article_rows`, `service_objects`) that hold
    exactly what the order already holds.

    The web form always sends every list; `update_order` treats a list it is given as a change
    and clears the signature. Dropping the unchanged lists lets a signed order be saved or
    marked ready without losing its signature, while any real change still clears it."""
    result = dict(data)
    if "actions" in data and _action_keys(data["actions"]) == [
        (a.date, a.description, a.technician_id, a.hours) for a in order.actions
    ]:
        del result["actions"]
    if "article_rows" in data and _row_keys(data["article_rows"]) == [
        _existing_row_key(row) for row in order.article_rows
    ]:
        del result["article_rows"]
    if "service_objects" in data and [
        (item["service_object_id"], _dec(item.get("operating_hours")))
        for item in data["service_objects"] or []
    ] == [(link.service_object_id, _dec(link.operating_hours)) for link in order.service_objects]:
        del result["service_objects"]
    return result


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


def _action_keys(items: list[dict[str, Any]] | None) -> list[tuple[Any, ...]]:
    return [
        (
            item.get("date"),
            item.get("description"),
            item.get("technician_id"),
            _dec(item.get("hours")) if item.get("hours") is not None else Decimal("0"),
        )
        for item in items or []
    ]


def _row_keys(items: list[dict[str, Any]] | None) -> list[tuple[Any, ...] | None]:
    keys: list[tuple[Any, ...] | None] = []
    articles = articles_by_numbers([item.get("article_number") or "" for item in items or []])
    for item in items or []:
        article = articles.get((item.get("article_number") or "").strip().lower())
        if article is None:
            keys.append(None)  # never equal to a stored row: the service will report it
            continue
        keys.append(
            (
                article.id,
                item.get("description") or None,
                _dec(item.get("quantity")),
                item.get("unit") or article.unit,
                _dec(item["price"]) if item.get("price") is not None else article.price,
                item.get("date"),
                item.get("technician_id"),
                item.get("service_object_id"),
                item.get("cost_center", "(default)"),
            )
        )
    return keys


def _existing_row_key(row: ArticleRow) -> tuple[Any, ...]:
    return (
        row.article_id,
        row.description or None,
        row.quantity,
        row.unit,
        row.price,
        row.date,
        row.technician_id,
        row.service_object_id,
        row.cost_center,
    )


# --- optimistic locking (issue #17; docs/decisions.md "Concurrent edits") ---------------------

# The order page's fields compared with what is saved when its version is stale.
COMPARED_FIELDS = (
    "customer_id",
    "facility_id",
    "contact_id",
    "orderer",
    "assigned_user_id",
    "customer_order_number",
    "description",
    "fault_cause",
    "delivery_date",
    "subgroup_id",
)


def saved_differently(order: Order, data: dict[str, Any]) -> list[str]:
    """The keys of ``data`` (the order page's, after ``strip_unchanged_work``) whose value
    differs from what is saved on ``order`` now: the header fields, ``custom_fields.<name>``
    for each custom field, and each work list still in ``data`` (an unchanged one has been
    stripped). Empty: saving would overwrite nothing anyone else saved."""
    changed = [key for key in COMPARED_FIELDS if key in data and data[key] != getattr(order, key)]
    if "custom_fields" in data:
        entity = CUSTOM_FIELD_ENTITY[order.kind]
        saved = order.custom_fields or {}
        for name, value in (data["custom_fields"] or {}).items():
            try:
                typed = clean_custom_fields(entity, {name: value}).get(name)
            except ValidationFailed:
                typed = value
            if typed != saved.get(name):
                changed.append(f"custom_fields.{name}")
    changed += [name for name in WORK_LISTS if name in data]
    return changed
