"""Web forms for orders: the filter bar, a new order, and the order page itself (header,
custom fields, actions, article rows, service-object readings, signing, comment) — one form,
so no button ever loses what was typed elsewhere on the page."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.formfields import (
    DecimalInput,
    LocalDateField,
    SubForm,
    custom_field_values,
    optional_int,
    select_choices,
)
from app.orders.models import FortnoxState, OrderKind, OrderStatus

KIND_LABELS = {
    OrderKind.SERVICE: _l("Serviceorder"),
    OrderKind.WORK: _l("Arbetsorder"),
    OrderKind.SALES: _l("Försäljningsorder"),
}
# The same words as services.STATUS_LABELS, marked here so the catalogue holds them.
STATUS_TEXTS = {
    OrderStatus.DRAFT: _l("Utkast"),
    OrderStatus.IN_PROGRESS: _l("Pågående"),
    OrderStatus.READY: _l("Klar för fakturering"),
    OrderStatus.SENT: _l("Skickad"),
    OrderStatus.INVOICED: _l("Fakturerad"),
    OrderStatus.CANCELLED: _l("Makulerad"),
}
# What the button moving an order to a status says.
STATUS_BUTTONS = {
    OrderStatus.DRAFT: _l("Tillbaka till utkast"),
    OrderStatus.IN_PROGRESS: _l("Markera som pågående"),
    OrderStatus.READY: _l("Klar för fakturering"),
    OrderStatus.CANCELLED: _l("Makulera"),
}
FORTNOX_LABELS = {
    FortnoxState.NOT_SENT: _l("Ej skickad"),
    FortnoxState.QUEUED: _l("I kö"),
    FortnoxState.SENDING: _l("Skickas"),
    FortnoxState.SENT: _l("Skickad"),
    FortnoxState.FAILED: _l("Misslyckades"),
    FortnoxState.INVOICED: _l("Fakturerad"),
}

NON_NEGATIVE = _l("Ange ett tal som inte är negativt.")


class OrderFilterForm(FlaskForm):
    """The order list's search and filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Sök"), render_kw={"placeholder": _l("Nummer, kund, text"), "type": "search"}
    )
    kind = SelectField(_l("Ordertyp"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    customer_id = SelectField(_l("Kund"), coerce=optional_int, validate_choice=False)
    assigned_user_id = SelectField(_l("Tilldelad"), coerce=optional_int, validate_choice=False)
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int, validate_choice=False)
    fortnox_state = SelectField(_l("Fortnox"), validate_choice=False)


class NewOrderForm(FlaskForm):
    kind = SelectField(
        _l("Ordertyp"),
        choices=select_choices(KIND_LABELS.items()),
        validators=[DataRequired(_l("Välj ordertyp."))],
    )
    customer_id = SelectField(
        _l("Kund"), coerce=optional_int, validators=[DataRequired(_l("Välj en kund."))]
    )
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int)
    assigned_user_id = SelectField(_l("Tilldelad"), coerce=optional_int)
    orderer = StringField(
        _l("Beställare"), validators=[Length(max=120, message=_l("Högst 120 tecken."))]
    )
    customer_order_number = StringField(
        _l("Kundens ordernummer"), validators=[Length(max=60, message=_l("Högst 60 tecken."))]
    )
    description = TextAreaField(_l("Beskrivning"), validators=[Length(max=10000)])
    delivery_date = LocalDateField(_l("Leveransdatum"), validators=[Optional()])


class ActionForm(SubForm):
    date = LocalDateField(_l("Datum"), validators=[Optional()])
    technician_id = SelectField(_l("Tekniker"), coerce=optional_int)
    hours = DecimalInput(
        _l("Timmar"),
        validators=[
            Optional(),
            NumberRange(min=0, max=9999, message=_l("Ange timmar mellan 0 och 9999.")),
        ],
    )
    description = TextAreaField(
        _l("Vad gjordes"),
        validators=[
            DataRequired(_l("Beskriv åtgärden.")),
            Length(max=5000, message=_l("Högst 5000 tecken.")),
        ],
        render_kw={"rows": 2},
    )


class ArticleRowForm(SubForm):
    article_number = StringField(
        _l("Artikel"),
        validators=[
            DataRequired(_l("Välj en artikel.")),
            Length(max=50, message=_l("Högst 50 tecken.")),
        ],
        render_kw={"placeholder": _l("Nummer eller namn"), "autocomplete": "off"},
    )
    description = StringField(
        _l("Benämning"), validators=[Optional(), Length(max=200, message=_l("Högst 200 tecken."))]
    )
    quantity = DecimalInput(
        _l("Antal"),
        validators=[
            InputRequired(_l("Ange antal.")),
            NumberRange(min=0, max=999_999_999, message=_l("Antalet kan inte vara negativt.")),
        ],
    )
    unit = StringField(
        _l("Enhet"), validators=[Optional(), Length(max=20, message=_l("Högst 20 tecken."))]
    )
    price = DecimalInput(
        _l("À-pris"),
        validators=[
            Optional(),
            NumberRange(min=0, max=9_999_999_999, message=_l("Priset kan inte vara negativt.")),
        ],
        places=2,
    )
    date = LocalDateField(_l("Datum"), validators=[Optional()])
    technician_id = SelectField(_l("Tekniker"), coerce=optional_int)
    service_object_id = SelectField(_l("Serviceobjekt"), coerce=optional_int)
    # Kept from the stored row so an unchanged row keeps its cost centre (which may have been
    # set through the API); a new technician brings their own.
    cost_center = HiddenField()
    original_technician_id = HiddenField()


class ReadingForm(SubForm):
    service_object_id = SelectField(
        _l("Serviceobjekt"),
        coerce=optional_int,
        validators=[DataRequired(_l("Välj ett serviceobjekt."))],
    )
    operating_hours = DecimalInput(
        _l("Drifttid (h)"), validators=[Optional(), NumberRange(min=0, message=NON_NEGATIVE)]
    )


class OrderForm(FlaskForm):
    customer_id = SelectField(
        _l("Kund"), coerce=optional_int, validators=[DataRequired(_l("Välj en kund."))]
    )
    facility_id = SelectField(_l("Anläggning"), coerce=optional_int)
    contact_id = SelectField(_l("Kontaktperson"), coerce=optional_int)
    orderer = StringField(
        _l("Beställare"), validators=[Length(max=120, message=_l("Högst 120 tecken."))]
    )
    assigned_user_id = SelectField(_l("Tilldelad"), coerce=optional_int)
    customer_order_number = StringField(
        _l("Kundens ordernummer"), validators=[Length(max=60, message=_l("Högst 60 tecken."))]
    )
    description = TextAreaField(
        _l("Beskrivning"), validators=[Length(max=10000)], render_kw={"rows": 3}
    )
    fault_cause = TextAreaField(
        _l("Fel/orsak"), validators=[Length(max=10000)], render_kw={"rows": 2}
    )
    delivery_date = LocalDateField(_l("Leveransdatum"), validators=[Optional()])
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int)
    actions = FieldList(FormField(ActionForm))
    article_rows = FieldList(FormField(ArticleRowForm))
    service_objects = FieldList(FormField(ReadingForm))
    customer_name = StringField(
        _l("Kundens namn"),
        validators=[Length(max=120, message=_l("Högst 120 tecken."))],
        render_kw={"autocomplete": "off", "placeholder": _l("Kunden textar sitt namn")},
    )
    # The drawing on the signing panel's canvas as a PNG data URL, kept up to date by
    # static/app.js; services.sign_order checks it when "Signera" is pressed.
    signature = HiddenField()
    protocol_to = StringField(
        _l("Skicka till"),
        validators=[Length(max=254, message=_l("Högst 254 tecken."))],
        render_kw={"type": "email", "autocomplete": "email", "inputmode": "email"},
    )
    comment = TextAreaField(
        _l("Ny kommentar"),
        validators=[Length(max=5000, message=_l("Högst 5000 tecken."))],
        render_kw={"rows": 2},
    )
    confirm_unsign = BooleanField(_l("Ja, ta bort signaturen och spara ändringarna"))


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
