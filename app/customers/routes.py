"""Customer pages: the register, a customer's page (contacts, tags, custom fields, facilities
and their service objects), and the forms for each. Everyone signed in may read and write
(technicians find new machines and contacts on site); deleting is for admin and office."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Form

from app import locking
from app.auth.models import Subgroup, User
from app.customers import services
from app.customers.forms import (
    CustomerForm,
    FacilityForm,
    ServiceObjectForm,
    customer_data,
    facility_data,
    service_object_data,
)
from app.customers.models import Customer, Facility, ServiceObject
from app.customfields.models import CustomFieldEntity
from app.customfields.services import clean_custom_fields
from app.errors import Conflict, ValidationFailed
from app.extensions import db
from app.formfields import custom_field_data, select_choices, with_custom_fields
from app.integrations.models import CustomerChange
from app.orders.services import search_orders
from app.web import apply_errors, paginate, staff_required

bp = Blueprint("customers", __name__)

CUSTOMER_ATTRS = ("customer_number", "subgroup_id", *services.CUSTOMER_FIELDS)


@bp.route("/customers")
@login_required
def index() -> ResponseReturnValue:
    q = request.args.get("q", "")
    include_inactive = request.args.get("inactive") == "1"
    page = paginate(
        services.search_customers(q, include_inactive=include_inactive),
        options=(selectinload(Customer.tags),),
    )
    return render_template("customers/list.html", page=page, q=q, include_inactive=include_inactive)


@bp.route("/customers/search")
@login_required
def search() -> ResponseReturnValue:
    """Customers for the customer field of the order pages and the order filter, as you type:
    `q` matched against name, customer number and city (every word somewhere), at most
    `services.SEARCH_LIMIT`; active customers only unless `inactive=1` (as the register)."""
    q = request.args.get("q", "")[: services.SEARCH_MAX_LENGTH]
    include_inactive = request.args.get("inactive") == "1"
    customers = services.find_customers(q, include_inactive=include_inactive)
    response = jsonify(
        items=[
            {
                "id": c.id,
                "label": services.customer_label(c),
                "name": c.name,
                "number": c.customer_number,
                "city": c.city or "",
                "active": c.active,
            }
            for c in customers
        ]
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/customers/<int:customer_id>")
@login_required
def detail(customer_id: int) -> ResponseReturnValue:
    customer = db.get_or_404(Customer, customer_id)
    # The one scoped order query: a technician sees only their subgroup's orders here too.
    orders = db.session.scalars(
        search_orders(current_user, {"customer_id": customer.id}).limit(10)
    ).all()
    changes, change_users = _history(customer)
    return render_template(
        "customers/detail.html",
        customer=customer,
        orders=orders,
        changes=changes,
        change_users=change_users,
    )


HISTORY_SHOWN = 50


def _history(customer: Customer) -> tuple[list[CustomerChange], dict[int, User]]:
    """The customer's latest overwritten fields ("Historik"), newest first, and who made the
    ones a user made (a sync run made the others)."""
    changes = list(
        db.session.scalars(
            select(CustomerChange)
            .where(CustomerChange.customer_id == customer.id)
            .order_by(CustomerChange.changed_at.desc(), CustomerChange.id.desc())
            .limit(HISTORY_SHOWN)
        )
    )
    user_ids = {c.user_id for c in changes if c.user_id is not None}
    users = (
        {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))}
        if user_ids
        else {}
    )
    return changes, users


@bp.route("/customers/<int:customer_id>/options")
@login_required
def options(customer_id: int) -> ResponseReturnValue:
    """A customer's facilities, contacts and machines as JSON: the order page refreshes its
    selects with them when the customer is changed."""
    customer = db.get_or_404(Customer, customer_id)
    return jsonify(
        facilities=[{"id": f.id, "name": f.name} for f in customer.facilities],
        contacts=[{"id": c.id, "name": c.name} for c in customer.contacts],
        service_objects=[
            {"id": id_, "name": label} for id_, label in services.service_object_choices(customer)
        ],
    )


def _customer_form(customer: Customer | None) -> Any:
    form_class = with_custom_fields(CustomerForm, CustomFieldEntity.CUSTOMER)
    if request.method == "POST" or customer is None:
        form = form_class()
    else:
        # Not obj=customer: its `tags` and `custom_fields` are not what the form's fields hold.
        form = form_class(
            data={
                **{name: getattr(customer, name) for name in CUSTOMER_ATTRS},
                "tags": ", ".join(tag.name for tag in customer.tags),
                "custom_fields": custom_field_data(
                    form_class.custom_class,  # type: ignore[attr-defined]
                    customer.custom_fields,
                ),
                "contacts": [
                    {"id": c.id, "name": c.name, "phone": c.phone, "email": c.email}
                    for c in customer.contacts
                ],
                "version": customer.version,
            },
        )
    subgroups = db.session.scalars(select(Subgroup).order_by(Subgroup.name))
    form.subgroup_id.choices = select_choices(
        [("", _("Ingen")), *((s.id, s.name) for s in subgroups)]
    )
    return form


def _contact_template() -> Form:
    from app.customers.forms import ContactForm

    return ContactForm(prefix="contacts-__i__-")


def _render_customer_form(
    form: Any, customer: Customer | None, status: int = 200, **context: Any
) -> ResponseReturnValue:
    return (
        render_template(
            "customers/form.html",
            form=form,
            customer=customer,
            contact_template=_contact_template(),
            **context,
        ),
        status,
    )


@bp.route("/customers/new", methods=["GET", "POST"])
@login_required
def new() -> ResponseReturnValue:
    form = _customer_form(None)
    if not form.validate_on_submit():
        return _render_customer_form(form, None, 422 if form.is_submitted() else 200)
    try:
        customer = services.create_customer(customer_data(form))
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields)
        return _render_customer_form(form, None, 422, leftovers=leftovers)
    db.session.commit()
    flash(_("Kunden %(name)s är skapad.", name=customer.name), "success")
    return redirect(url_for(".detail", customer_id=customer.id))


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@login_required
def edit(customer_id: int) -> ResponseReturnValue:
    customer = db.get_or_404(Customer, customer_id)
    form = _customer_form(customer)
    if not form.validate_on_submit():
        return _render_customer_form(form, customer, 422 if form.is_submitted() else 200)
    data = customer_data(form)
    data.setdefault("customer_number", "")  # required when editing: the service says so
    if locking.is_stale(form.version.data, customer.version):
        # Someone else saved the customer after this page was made (issue #17).
        form.version.data = str(customer.version)  # saving again overwrites, knowingly
        conflict = _customer_differences(form, customer, data)
        if conflict:
            return _render_customer_form(form, customer, 409, conflict=conflict)
    try:
        services.update_customer(customer, data)
        db.session.commit()
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields)
        return _render_customer_form(form, customer, 422, leftovers=leftovers)
    except StaleDataError:  # a save committed between reading the customer and writing it
        db.session.rollback()
        form.version.data = str(customer.version)
        conflict = _customer_differences(form, customer, data)
        return _render_customer_form(form, customer, 409, conflict=conflict)
    flash(_("Kunden är sparad."), "success")
    return redirect(url_for(".detail", customer_id=customer.id))


def _customer_differences(
    form: Any, customer: Customer, data: dict[str, Any]
) -> list[locking.SavedValue]:
    """What is saved on ``customer`` now where it differs from the form's ``data``."""
    saved_tags = [tag.name for tag in customer.tags]
    saved_contacts = [(c.name, c.phone, c.email) for c in customer.contacts]
    fields: list[tuple[str, Any, Any, Any]] = [
        (name, data.get(name), getattr(customer, name), getattr(customer, name))
        for name in CUSTOMER_ATTRS
        if name != "subgroup_id"
    ]
    fields += [
        (
            "subgroup_id",
            data.get("subgroup_id"),
            customer.subgroup_id,
            customer.subgroup.name if customer.subgroup else None,
        ),
        ("tags", sorted(set(data.get("tags") or [])), sorted(saved_tags), saved_tags),
        (
            "contacts",
            [(c["name"], c.get("phone"), c.get("email")) for c in data.get("contacts") or []],
            saved_contacts,
            [", ".join(part for part in contact if part) for contact in saved_contacts],
        ),
    ]
    saved_fields = customer.custom_fields or {}
    for name, value in (data.get("custom_fields") or {}).items():
        try:
            typed = clean_custom_fields(CustomFieldEntity.CUSTOMER, {name: value}).get(name)
        except ValidationFailed:
            typed = value
        fields.append(
            (f"custom_fields.{name}", typed, saved_fields.get(name), saved_fields.get(name))
        )
    labels = {"contacts": _("Kontaktpersoner")}
    labels.update({f"custom_fields.{name}": name for name in data.get("custom_fields") or {}})
    return locking.differing(form, fields, labels)


@bp.route("/customers/<int:customer_id>/delete", methods=["POST"])
@staff_required
def delete(customer_id: int) -> ResponseReturnValue:
    customer = db.get_or_404(Customer, customer_id)
    try:
        services.delete_customer(customer)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
        return redirect(url_for(".detail", customer_id=customer_id))
    db.session.commit()
    flash(_("Kunden är borttagen."), "success")
    return redirect(url_for(".index"))


# --- facilities and service objects ------------------------------------------------------------


def _facility_form(facility: Facility | None) -> Any:
    form_class = with_custom_fields(FacilityForm, CustomFieldEntity.FACILITY)
    if request.method == "POST" or facility is None:
        return form_class()
    return form_class(
        data={
            **{name: getattr(facility, name) for name in services.ADDRESS_FIELDS},
            "custom_fields": custom_field_data(
                form_class.custom_class,  # type: ignore[attr-defined]
                facility.custom_fields,
            ),
        },
    )


@dataclass(frozen=True)
class _Part:
    """A part of a customer edited on a page of its own: its form page, how the form's data
    is read, created (with the parent's id under ``parent_key``) and updated, and the message
    once saved."""

    template: str
    data: Callable[[Any], dict[str, Any]]
    create: Callable[[dict[str, Any]], Any]
    update: Callable[[Any, dict[str, Any]], Any]
    parent_key: str
    saved: Callable[[Any], str]


FACILITY = _Part(
    "customers/facility_form.html",
    facility_data,
    services.create_facility,
    services.update_facility,
    "customer_id",
    lambda facility: _("Anläggningen %(name)s är sparad.", name=facility.name),
)
SERVICE_OBJECT = _Part(
    "customers/service_object_form.html",
    service_object_data,
    services.create_service_object,
    services.update_service_object,
    "facility_id",
    lambda service_object: _("Serviceobjektet %(name)s är sparat.", name=service_object.name),
)


def _save_part(
    part: _Part,
    form: Any,
    record: Facility | ServiceObject | None,
    parent: Customer | Facility,
    context: dict[str, Any],
) -> ResponseReturnValue:
    """The form page of ``record`` (None: a new one under ``parent``): shown (200), or again
    (422) when the form does not validate or the service refuses the data, with the service's
    messages on their fields and the rest at the top. Once saved: committed, flashed, back to
    the facility on the customer's page. ``context``: the template's, besides the form."""
    context = {"form": form, **context}
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template(part.template, **context), status
    data = part.data(form)
    try:
        if record is None:
            record = part.create({**data, part.parent_key: parent.id})
        else:
            part.update(record, data)
    except (ValidationFailed, Conflict) as exc:
        db.session.rollback()
        leftovers = apply_errors(form, exc.fields)
        return render_template(part.template, leftovers=leftovers, **context), 422
    assert record is not None
    db.session.commit()
    flash(part.saved(record), "success")
    facility = record if isinstance(record, Facility) else record.facility
    return redirect(
        url_for(".detail", customer_id=facility.customer_id, _anchor=f"facility-{facility.id}")
    )


def _save_facility(form: Any, customer: Customer, facility: Facility | None) -> ResponseReturnValue:
    context = {"customer": customer, "facility": facility}
    return _save_part(FACILITY, form, facility, customer, context)


@bp.route("/customers/<int:customer_id>/facilities/new", methods=["GET", "POST"])
@login_required
def new_facility(customer_id: int) -> ResponseReturnValue:
    customer = db.get_or_404(Customer, customer_id)
    return _save_facility(_facility_form(None), customer, None)


@bp.route("/facilities/<int:facility_id>/edit", methods=["GET", "POST"])
@login_required
def edit_facility(facility_id: int) -> ResponseReturnValue:
    facility = db.get_or_404(Facility, facility_id)
    return _save_facility(_facility_form(facility), facility.customer, facility)


def _save_service_object(
    form: ServiceObjectForm, facility: Facility, service_object: ServiceObject | None
) -> ResponseReturnValue:
    context = {
        "facility": facility,
        "service_object": service_object,
        "readings": services.reading_history(service_object) if service_object else [],
    }
    return _save_part(SERVICE_OBJECT, form, service_object, facility, context)


@bp.route("/facilities/<int:facility_id>/service-objects/new", methods=["GET", "POST"])
@login_required
def new_service_object(facility_id: int) -> ResponseReturnValue:
    facility = db.get_or_404(Facility, facility_id)
    return _save_service_object(ServiceObjectForm(), facility, None)


@bp.route("/service-objects/<int:service_object_id>/edit", methods=["GET", "POST"])
@login_required
def edit_service_object(service_object_id: int) -> ResponseReturnValue:
    service_object = db.get_or_404(ServiceObject, service_object_id)
    form = ServiceObjectForm(obj=service_object) if request.method == "GET" else ServiceObjectForm()
    return _save_service_object(form, service_object.facility, service_object)
