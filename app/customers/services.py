"""Customers, contacts, tags, facilities and service objects.

Services take explicit arguments, change models and flush; the caller commits."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select

from app.auth.models import Subgroup
from app.customers.models import ContactPerson, Customer, Facility, ServiceObject, Tag
from app.customfields.models import CustomFieldEntity
from app.customfields.services import clean_custom_fields
from app.errors import Conflict, ValidationFailed
from app.extensions import db

CUSTOMER_FIELDS = (
    "name",
    "organisation_number",
    "address1",
    "address2",
    "zip_code",
    "city",
    "country",
    "email",
    "phone",
    "active",
)
ADDRESS_FIELDS = ("name", "address1", "address2", "zip_code", "city", "country")
SERVICE_OBJECT_FIELDS = ("name", "machine_number", "serial_number", "operating_hours", "comment")


def get_related(model: type, id_: int | None, field: str) -> Any:
    """The row of `model` with this id, or ValidationFailed naming `field` (a foreign id of
    the wrong kind or that doesn't exist is a 422, never a 500)."""
    if id_ is None:
        return None
    obj = db.session.get(model, id_)
    if obj is None:
        raise ValidationFailed.field(field, _("Finns inte."))
    return obj


def _check_customer_number(number: str, exclude_id: int | None = None) -> None:
    query = select(Customer.id).where(func.lower(Customer.customer_number) == number.lower())
    if exclude_id is not None:
        query = query.where(Customer.id != exclude_id)
    if db.session.scalar(query) is not None:
        raise Conflict(
            _("Kundnumret används redan."),
            {"customer_number": [_("Det finns redan en kund med det kundnumret.")]},
        )


def next_customer_number() -> str:
    """The next free numeric customer number (as Fortnox numbers them by default)."""
    numbers = db.session.scalars(select(Customer.customer_number)).all()
    highest = max((int(n) for n in numbers if n.isdigit()), default=1000)
    return str(highest + 1)


def _set_tags(customer: Customer, names: list[str]) -> None:
    wanted = []
    for raw in names:
        name = raw.strip()
        if not name or name in wanted:
            continue
        wanted.append(name)
    tags = []
    for name in wanted:
        tag = db.session.scalar(select(Tag).where(Tag.name == name))
        if tag is None:
            tag = Tag(name=name)
            db.session.add(tag)
        tags.append(tag)
    customer.tags = tags


def _set_contacts(customer: Customer, contacts: list[dict]) -> None:
    """Replace the contact list; entries with an `id` of this customer are updated in place."""
    existing = {c.id: c for c in customer.contacts}
    result = []
    for i, data in enumerate(contacts):
        contact_id = data.get("id")
        if contact_id is not None:
            contact = existing.get(contact_id)
            if contact is None:
                raise ValidationFailed.field(f"contacts.{i}.id", _("Finns inte hos kunden."))
        else:
            contact = ContactPerson()
        contact.name = data["name"]
        contact.phone = data.get("phone")
        contact.email = data.get("email")
        result.append(contact)
    customer.contacts = result


def create_customer(data: dict) -> Customer:
    """Create a customer from validated data (see the API schema). Raises Conflict for a
    duplicate customer number, ValidationFailed for a bad subgroup or custom field."""
    number = (data.get("customer_number") or "").strip() or next_customer_number()
    _check_customer_number(number)
    customer = Customer(customer_number=number, custom_fields={})
    db.session.add(customer)
    _apply_customer(customer, data)
    db.session.flush()
    return customer


def update_customer(customer: Customer, data: dict) -> Customer:
    if "customer_number" in data and data["customer_number"] != customer.customer_number:
        number = (data["customer_number"] or "").strip()
        if not number:
            raise ValidationFailed.field("customer_number", _("Obligatoriskt fält."))
        _check_customer_number(number, exclude_id=customer.id)
        customer.customer_number = number
    _apply_customer(customer, data)
    db.session.flush()
    return customer


def _apply_customer(customer: Customer, data: dict) -> None:
    for field in CUSTOMER_FIELDS:
        if field in data:
            setattr(customer, field, data[field])
    if "subgroup_id" in data:
        get_related(Subgroup, data["subgroup_id"], "subgroup_id")
        customer.subgroup_id = data["subgroup_id"]
    if "custom_fields" in data:
        customer.custom_fields = clean_custom_fields(
            CustomFieldEntity.CUSTOMER, data["custom_fields"]
        )
    if "tags" in data:
        _set_tags(customer, data["tags"] or [])
    if "contacts" in data:
        _set_contacts(customer, data["contacts"] or [])


def delete_customer(customer: Customer) -> None:
    """Delete a customer without orders; one with orders is deactivated instead (Conflict)."""
    from app.orders.models import Order

    has_orders = db.session.scalar(select(Order.id).where(Order.customer_id == customer.id))
    if has_orders is not None:
        raise Conflict(
            _("Kunden har ordrar och kan inte tas bort. Inaktivera kunden i stället."),
            code="customer_has_orders",
        )
    db.session.delete(customer)
    db.session.flush()


def create_facility(data: dict) -> Facility:
    customer = get_related(Customer, data["customer_id"], "customer_id")
    facility = Facility(customer=customer, custom_fields={})
    db.session.add(facility)
    _apply_facility(facility, data)
    db.session.flush()
    return facility


def update_facility(facility: Facility, data: dict) -> Facility:
    if "customer_id" in data:
        facility.customer = get_related(Customer, data["customer_id"], "customer_id")
    _apply_facility(facility, data)
    db.session.flush()
    return facility


def _apply_facility(facility: Facility, data: dict) -> None:
    for field in ADDRESS_FIELDS:
        if field in data:
            setattr(facility, field, data[field])
    if "custom_fields" in data:
        facility.custom_fields = clean_custom_fields(
            CustomFieldEntity.FACILITY, data["custom_fields"]
        )


def create_service_object(data: dict) -> ServiceObject:
    facility = get_related(Facility, data["facility_id"], "facility_id")
    service_object = ServiceObject(facility=facility)
    _apply_fields(service_object, data, SERVICE_OBJECT_FIELDS)
    db.session.add(service_object)
    db.session.flush()
    return service_object


def update_service_object(service_object: ServiceObject, data: dict) -> ServiceObject:
    if "facility_id" in data:
        service_object.facility = get_related(Facility, data["facility_id"], "facility_id")
    _apply_fields(service_object, data, SERVICE_OBJECT_FIELDS)
    db.session.flush()
    return service_object


def _apply_fields(obj: object, data: dict, fields: tuple[str, ...]) -> None:
    for field in fields:
        if field in data:
            setattr(obj, field, data[field])


def search_customers(term: str = "", *, include_inactive: bool = False) -> Select[Customer]:
    """Customers whose name or number contains `term` (case-insensitive), by name; active
    ones only unless `include_inactive`."""
    query = select(Customer).order_by(Customer.name, Customer.id)
    term = term.strip().lower()
    if term:
        like = f"%{term}%"
        query = query.where(
            or_(
                func.lower(Customer.name).like(like),
                func.lower(Customer.customer_number).like(like),
            )
        )
    if not include_inactive:
        query = query.where(Customer.active.is_(True))
    return query


def customer_choices(*, include_id: int | None = None) -> list[tuple[int, str]]:
    """(id, "number – name") for every active customer (plus `include_id` even if inactive),
    by name: the options of a customer select."""
    query = select(Customer.id, Customer.customer_number, Customer.name).order_by(Customer.name)
    if include_id is not None:
        query = query.where(or_(Customer.active.is_(True), Customer.id == include_id))
    else:
        query = query.where(Customer.active.is_(True))
    return [(id_, f"{name} ({number})") for id_, number, name in db.session.execute(query)]


def service_object_label(service_object: ServiceObject, *, with_facility: bool = True) -> str:
    """How a machine is named in a select: "Facility · Name (machine number)"."""
    label = service_object.name
    if service_object.machine_number:
        label += f" ({service_object.machine_number})"
    if with_facility:
        label = f"{service_object.facility.name} · {label}"
    return label


def service_object_choices(customer: Customer) -> list[tuple[int, str]]:
    """(id, label) for every service object on the customer's facilities."""
    with_facility = len(customer.facilities) > 1
    return [
        (so.id, service_object_label(so, with_facility=with_facility))
        for facility in customer.facilities
        for so in facility.service_objects
    ]
