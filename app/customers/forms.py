"""Web forms for customers, their contact persons, facilities and service objects."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, NumberRange, Optional

from app.formfields import (
    DecimalInput,
    StrippedForm,
    SubForm,
    at_most,
    custom_field_values,
    optional_int,
)
from app.limits import MAX_CONTACTS


def _max(n: int) -> Length:
    return Length(max=n, message=_l("Högst %(max)d tecken.", max=n))


class ContactForm(SubForm):
    id = HiddenField()
    name = StringField(_l("Namn"), validators=[DataRequired(_l("Fyll i namnet.")), _max(120)])
    phone = StringField(_l("Telefon"), validators=[Optional(), _max(50)], render_kw={"type": "tel"})
    email = EmailField(
        _l("E-post"),
        validators=[Optional(), Email(_l("Ange en giltig e-postadress.")), _max(254)],
    )


class AddressMixin:
    address1 = StringField(_l("Adress"), validators=[_max(200)])
    address2 = StringField(_l("Adress 2"), validators=[_max(200)])
    zip_code = StringField(_l("Postnummer"), validators=[_max(20)])
    city = StringField(_l("Ort"), validators=[_max(100)])
    country = StringField(_l("Land"), validators=[_max(100)])


class CustomerForm(AddressMixin, StrippedForm):
    customer_number = StringField(_l("Kundnummer"), validators=[_max(20)])
    name = StringField(_l("Namn"), validators=[DataRequired(_l("Fyll i kundens namn.")), _max(200)])
    organisation_number = StringField(_l("Organisationsnummer"), validators=[_max(30)])
    email = EmailField(
        _l("E-post"),
        validators=[Optional(), Email(_l("Ange en giltig e-postadress.")), _max(254)],
    )
    phone = StringField(_l("Telefon"), validators=[_max(50)], render_kw={"type": "tel"})
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int)
    tags = StringField(_l("Taggar"), validators=[_max(500)])
    active = BooleanField(_l("Aktiv"), default=True)
    contacts = FieldList(
        FormField(ContactForm), max_entries=MAX_CONTACTS + 1, validators=[at_most(MAX_CONTACTS)]
    )
    # The customer's version when the page was made (optimistic locking, app/locking.py).
    version = HiddenField()


class FacilityForm(AddressMixin, StrippedForm):
    name = StringField(
        _l("Namn"), validators=[DataRequired(_l("Fyll i anläggningens namn.")), _max(200)]
    )


class ServiceObjectForm(StrippedForm):
    name = StringField(
        _l("Namn"), validators=[DataRequired(_l("Fyll i serviceobjektets namn.")), _max(200)]
    )
    machine_number = StringField(_l("Maskinnummer"), validators=[_max(60)])
    serial_number = StringField(_l("Serienummer"), validators=[_max(100)])
    operating_hours = DecimalInput(
        _l("Drifttid (timmar)"),
        validators=[
            Optional(),
            NumberRange(min=0, message=_l("Ange ett tal som inte är negativt.")),
        ],
    )
    comment = TextAreaField(_l("Kommentar"), validators=[_max(5000)], render_kw={"rows": 3})


def _text(value: str | None) -> str | None:
    return (value or "").strip() or None


def customer_data(form: CustomerForm) -> dict[str, Any]:
    """The service's data (`create_customer` / `update_customer`) from a validated form."""
    data: dict[str, Any] = {
        "name": form.name.data.strip(),
        "active": bool(form.active.data),
        "subgroup_id": form.subgroup_id.data,
        "tags": [t.strip() for t in (form.tags.data or "").split(",") if t.strip()],
        "contacts": [],
    }
    for name in (
        "organisation_number",
        "address1",
        "address2",
        "zip_code",
        "city",
        "country",
        "email",
        "phone",
    ):
        data[name] = _text(form[name].data)
    number = (form.customer_number.data or "").strip()
    if number:
        data["customer_number"] = number
    for entry in form.contacts:
        contact: dict[str, Any] = {
            "name": entry.form.name.data.strip(),
            "phone": _text(entry.form.phone.data),
            "email": _text(entry.form.email.data),
        }
        if (entry.form.id.data or "").isdigit():
            contact["id"] = int(entry.form.id.data)
        data["contacts"].append(contact)
    if "custom_fields" in form:
        data["custom_fields"] = custom_field_values(form.custom_fields.form)
    return data


def facility_data(form: FacilityForm) -> dict[str, Any]:
    data: dict[str, Any] = {"name": form.name.data.strip()}
    for name in ("address1", "address2", "zip_code", "city", "country"):
        data[name] = _text(form[name].data)
    if "custom_fields" in form:
        data["custom_fields"] = custom_field_values(form.custom_fields.form)
    return data


def service_object_data(form: ServiceObjectForm) -> dict[str, Any]:
    return {
        "name": form.name.data.strip(),
        "machine_number": _text(form.machine_number.data),
        "serial_number": _text(form.serial_number.data),
        "operating_hours": form.operating_hours.data,
        "comment": _text(form.comment.data),
    }
