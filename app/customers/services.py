"""Customers, contacts, tags, facilities and service objects.

Services take explicit arguments, change models and flush; the caller commits."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import Select, case, func, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import flag_modified

from app import i18n
from app.auth.models import Subgroup
from app.customers.models import (
    ContactPerson,
    Customer,
    Facility,
    ServiceObject,
    ServiceObjectReading,
    Tag,
)
from app.customfields.models import CustomFieldEntity
from app.customfields.services import clean_custom_fields
from app.db import utcnow
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
    _refuse_removing_used_contacts(set(existing) - {c.id for c in result if c.id is not None})
    customer.contacts = result


def _refuse_removing_used_contacts(removed: set[int]) -> None:
    """A contact an order still names cannot go (the order would lose who ordered): 409."""
    if not removed:
        return
    from app.orders.models import Order

    used = db.session.execute(
        select(ContactPerson.name, Order.kind, Order.number)
        .join(Order, Order.contact_id == ContactPerson.id)
        .where(ContactPerson.id.in_(sorted(removed)))
        .order_by(Order.number)
        .limit(3)
    ).all()
    if used:
        name, kind, number = used[0]
        raise Conflict(
            _(
                "Kontaktpersonen %(name)s står på order %(order)s och kan inte tas bort. "
                "Byt kontaktperson på ordern först.",
                name=name,
                order=f"{kind.prefix} {number}",
            ),
            code="contact_in_use",
        )


def create_customer(data: dict) -> Customer:
    """Create a customer from validated data (see the API schema). Raises Conflict for a
    duplicate customer number, ValidationFailed for a bad subgroup or custom field."""
    number = (data.get("customer_number") or "").strip() or next_customer_number()
    _check_customer_number(number)
    customer = Customer(customer_number=number, custom_fields={})
    db.session.add(customer)
    _apply_customer(customer, data)
    db.session.flush()
    _push_to_fortnox(customer, tags_added=data.get("tags") or [])
    return customer


def update_customer(customer: Customer, data: dict) -> Customer:
    if "customer_number" in data and data["customer_number"] != customer.customer_number:
        number = (data["customer_number"] or "").strip()
        if not number:
            raise ValidationFailed.field("customer_number", _("Obligatoriskt fält."))
        _check_customer_number(number, exclude_id=customer.id)
        customer.customer_number = number
    tags_before = {t.name for t in customer.tags} if "tags" in data else set()
    _apply_customer(customer, data)
    db.session.flush()
    added = {t.name for t in customer.tags} - tags_before if "tags" in data else set()
    _push_to_fortnox(customer, tags_added=added)
    return customer


def _push_to_fortnox(customer: Customer, *, tags_added: Iterable[str]) -> None:
    """A customer saved here may go to Fortnox at once, through the push outbox
    (fortnox-settings.md §8: ``sync_updated_customers``, ``customer_sync_tag``). A sync from
    Fortnox writes customers in bulk, not through this service, so it never pushes back."""
    from app.integrations.fortnox.pushing import queue_customer

    queue_customer(customer, tags_added=tags_added)


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
    if customer.id is not None and ("tags" in data or "contacts" in data):
        # Tags and contacts are rows of their own: touch the customer so its version is bumped
        # (and checked) when only they change (optimistic locking, issue #17).
        customer.updated_at = utcnow()
        flag_modified(customer, "updated_at")


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
    _note_typed_reading(service_object, None)
    db.session.add(service_object)
    db.session.flush()
    return service_object


def update_service_object(service_object: ServiceObject, data: dict) -> ServiceObject:
    if "facility_id" in data:
        service_object.facility = get_related(Facility, data["facility_id"], "facility_id")
    before = service_object.operating_hours
    _apply_fields(service_object, data, SERVICE_OBJECT_FIELDS)
    _note_typed_reading(service_object, before)
    db.session.flush()
    return service_object


# --- operating-hours readings -------------------------------------------------------------------


def _note_typed_reading(service_object: ServiceObject, before: Decimal | None) -> None:
    """Operating hours typed on the object itself are a reading of their own (now, no order),
    so an older order's reading saved later does not overwrite them."""
    hours = service_object.operating_hours
    if hours is not None and (before is None or hours != before):
        service_object.readings.append(
            ServiceObjectReading(operating_hours=hours, read_at=i18n.utcnow())
        )


def refresh_operating_hours(service_object: ServiceObject) -> None:
    """Make the latest reading (by `read_at`, then the later noted) the object's operating
    hours; an object without readings keeps what it has."""
    db.session.flush()
    latest = db.session.scalar(
        select(ServiceObjectReading.operating_hours)
        .where(ServiceObjectReading.service_object_id == service_object.id)
        .order_by(ServiceObjectReading.read_at.desc(), ServiceObjectReading.id.desc())
        .limit(1)
    )
    if latest is not None:
        service_object.operating_hours = latest


def reading_history(service_object: ServiceObject) -> list[ServiceObjectReading]:
    """The object's readings, newest first, with their orders."""
    return list(
        db.session.scalars(
            select(ServiceObjectReading)
            .where(ServiceObjectReading.service_object_id == service_object.id)
            .options(selectinload(ServiceObjectReading.order))
            .order_by(ServiceObjectReading.read_at.desc(), ServiceObjectReading.id.desc())
        )
    )


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


# --- choosing a customer: search as you type ----------------------------------------------------

SEARCH_MAX_LENGTH = 100  # characters of a search term that count; the rest is ignored
SEARCH_MAX_WORDS = 5
SEARCH_LIMIT = 20
# SQLite's lower() folds ASCII only: there the capitals of a word's Swedish (and a few
# neighbours') letters are folded first, so "borås" finds "BORÅS" on both backends.
_CAPITALS = {"å": "Å", "ä": "Ä", "ö": "Ö", "é": "É", "ü": "Ü", "æ": "Æ", "ø": "Ø"}


def escape_like(text: str) -> str:
    """`text` for a LIKE pattern with ESCAPE '\\': its %, _ and \\ match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(column: Any, word: str, *, fold: bool) -> Any:
    """`column` contains the lower-case `word`, case-insensitively."""
    if fold:
        for small, capital in _CAPITALS.items():
            if small in word:
                column = func.replace(column, capital, small)
    return func.lower(column).like(f"%{escape_like(word)}%", escape="\\")


def _search_words(term: str) -> list[str]:
    """The words of a search term, lower-case, without the brackets and commas of a label
    ("Verkstads AB (2001, Borås)" finds Verkstads AB)."""
    cleaned = term[:SEARCH_MAX_LENGTH].lower().replace("(", " ").replace(")", " ")
    words = [w.strip(",;") for w in cleaned.split()]
    return [w for w in words if w][:SEARCH_MAX_WORDS]


def find_customers(
    term: str, *, limit: int = SEARCH_LIMIT, include_inactive: bool = False
) -> list[Customer]:
    """At most `limit` customers where every word of `term` is part of the name, the customer
    number or the city (case-insensitive; % and _ are plain characters). An exact customer
    number comes first, then names starting with the first word, then by name. Active ones
    only unless `include_inactive`. An empty term finds nothing."""
    words = _search_words(term)
    if not words:
        return []
    fold = db.session.get_bind().dialect.name == "sqlite"
    query = select(Customer)
    for word in words:
        query = query.where(
            or_(
                _contains(Customer.name, word, fold=fold),
                _contains(Customer.customer_number, word, fold=False),
                _contains(Customer.city, word, fold=fold),
            )
        )
    if not include_inactive:
        query = query.where(Customer.active.is_(True))
    rank = case(
        (func.lower(Customer.customer_number) == " ".join(words), 0),
        (func.lower(Customer.name).like(f"{escape_like(words[0])}%", escape="\\"), 1),
        else_=2,
    )
    query = query.order_by(rank, Customer.name, Customer.id).limit(max(1, min(limit, 100)))
    return list(db.session.scalars(query))


def customer_label(customer: Customer) -> str:
    """How a chosen customer is shown in the customer field: "Name (number, city)"."""
    details = ", ".join(part for part in (customer.customer_number, customer.city) if part)
    return f"{customer.name} ({details})"


@dataclass
class CustomerChoice:
    """What the customer field of a form resolved to: the customer, else an error for the
    field and, when the text typed fits several, the candidates to choose from."""

    customer: Customer | None = None
    error: str | None = None
    candidates: list[Customer] = dataclass_field(default_factory=list)


def _parse_id(value: Any) -> int | None:
    text = str(value if value is not None else "").strip()
    return int(text) if text.isdigit() and len(text) < 12 else None


def _fits(customer: Customer, text: str) -> bool:
    """Whether `text` still names `customer` (its label, name or number as shown)."""
    wanted = text.strip().casefold()
    return wanted in {
        customer_label(customer).casefold(),
        customer.name.casefold(),
        customer.customer_number.casefold(),
    }


def choose_customer(
    customer_id: Any,
    text: str | None,
    *,
    pick: Any = None,
    keep_id: int | None = None,
    include_inactive: bool = False,
) -> CustomerChoice:
    """The customer a form's customer field names.

    `customer_id` is the hidden id the browser's search set, `text` what the text input
    holds (None when the form has no text input, as when a script posts the id alone), `pick`
    a candidate chosen after an ambiguous search. The id wins while the text still names its
    customer; otherwise (no JavaScript: the text was typed and sent as it is) the text is
    resolved: an exact customer number, else the one customer it fits. Only active customers
    may be chosen, except `keep_id` (an order's current customer) and with
    `include_inactive`."""

    def allowed(customer: Customer | None) -> bool:
        return customer is not None and (
            customer.active or include_inactive or customer.id == keep_id
        )

    picked = _parse_id(pick)
    if picked is not None:
        customer = db.session.get(Customer, picked)
        if allowed(customer):
            return CustomerChoice(customer)
    raw_id = str(customer_id if customer_id is not None else "").strip()
    if raw_id:
        parsed = _parse_id(raw_id)
        customer = db.session.get(Customer, parsed) if parsed is not None else None
        if customer is None or not allowed(customer):
            return CustomerChoice(error=_("Kunden finns inte. Sök och välj kunden igen."))
        if text is None or _fits(customer, text):
            return CustomerChoice(customer)
    typed = (text or "").strip()[:SEARCH_MAX_LENGTH]
    if not typed:
        return CustomerChoice(error=_("Välj en kund."))
    by_number = db.session.scalars(
        select(Customer).where(func.lower(Customer.customer_number) == typed.lower())
    ).first()
    if allowed(by_number):
        return CustomerChoice(by_number)
    matches = find_customers(typed, limit=SEARCH_LIMIT + 1, include_inactive=include_inactive)
    if len(matches) == 1:
        return CustomerChoice(matches[0])
    if not matches:
        return CustomerChoice(error=_("Ingen kund matchar ”%(text)s”.", text=typed))
    return CustomerChoice(
        error=_("Flera kunder matchar ”%(text)s”. Välj en av dem eller skriv mer.", text=typed),
        candidates=matches[:SEARCH_LIMIT],
    )


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
