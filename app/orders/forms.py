"""Web forms for orders: the filter bar, a new order, and the order page itself (header,
custom fields, actions, article rows, service-object readings, signing, comment) — one form,
so no button ever loses what was typed elsewhere on the page."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import Choice, SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import Input, Select

from app.customers.services import CustomerChoice, choose_customer, customer_label
from app.formfields import (
    DecimalInput,
    LocalDateField,
    StrippedForm,
    SubForm,
    at_most,
    optional_int,
    select_choices,
)
from app.limits import MAX_ACTIONS, MAX_ARTICLE_ROWS, MAX_SERVICE_OBJECTS
from app.orders.models import FortnoxState, OrderKind, OrderStatus
from app.web import html_params

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
    FortnoxState.CANCELLED: _l("Makulerad i Fortnox"),
}

NON_NEGATIVE = _l("Ange ett tal som inte är negativt.")


class SharedChoices(list[SelectChoice]):
    """The choices of many selects on one page — the order page offers the same technicians
    and service objects on every row — whose options are made into HTML once for all of them
    (`SharedOptionsSelect`), not once per select: a 40-row order has 80 such selects.

    Build it once the choices are known and do not change it after a select has rendered
    it. Options in groups (`optgroup`) are rendered the ordinary way."""

    def __init__(self, choices: Iterable[SelectChoice] = ()) -> None:
        super().__init__(choices)
        self._rendered: dict[Callable[[Any], Any], list[tuple[Any, str, str]] | None] = {}

    def rendered(self, coerce: Callable[[Any], Any]) -> list[tuple[Any, str, str]] | None:
        """(coerced value, <option>, <option selected>) per choice, as Select renders them;
        None when the choices have groups."""
        if coerce not in self._rendered:
            if any(choice.optgroup is not None for choice in self):
                self._rendered[coerce] = None
            else:
                self._rendered[coerce] = [
                    (coerce(c.value), _option(c, selected=False), _option(c, selected=True))
                    for c in self
                ]
        return self._rendered[coerce]


def _option(choice: SelectChoice, *, selected: bool) -> str:
    return str(
        Select.render_option(
            Choice(
                value=choice.value,
                label=choice.label,
                selected=selected,
                render_kw=choice.render_kw,
            )
        )
    )


class SharedOptionsSelect(Select):
    """WTForms' Select, the same HTML, taking the options of `SharedChoices` ready-made; any
    other choices are rendered as Select renders them."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        options = choices.rendered(field.coerce) if isinstance(choices, SharedChoices) else None
        if options is None or self.multiple:
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        data = field.data
        body = "".join(picked if value == data else plain for value, plain, picked in options)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{body}</select>")


class PickedIdInput(Input):
    """A hidden input that `form.hidden_tag()` leaves alone (it renders HiddenInput widgets
    only): the customer field's macro puts it beside its text input."""

    input_type = "hidden"
    validation_attrs: list[str] = []


class CustomerChoiceMixin:
    """The customer field: a text input searching the register as you type (static/app.js,
    GET /customers/search) and the hidden id of the customer picked. No <select> of the whole
    register. Without JavaScript the typed text is resolved on the server (an exact customer
    number, else the one customer it fits; several: `customer_pick` radios to choose from).

    Call `choose_customer()` before validating: it sets `customer_choice`, shows the chosen
    customer by its label, and `validate()` then reports a missing or unknown customer on
    `customer_id`."""

    customer_id = StringField(widget=PickedIdInput())
    customer_query = StringField(
        _l("Kund"),
        validators=[Length(max=200)],
        render_kw={
            "placeholder": _l("Sök namn, kundnummer eller ort"),
            "autocomplete": "off",
            "autocapitalize": "off",
            "spellcheck": "false",
        },
    )
    customer_pick = StringField()  # rendered as radios, only after an ambiguous search

    customer_choice: CustomerChoice

    def choose_customer(
        self, *, keep_id: int | None = None, include_inactive: bool = False
    ) -> CustomerChoice:
        id_field: Any = self.customer_id
        query_field: Any = self.customer_query
        pick_field: Any = self.customer_pick
        # None: the form was posted without the text input (a script sending the id alone).
        text = query_field.data if getattr(query_field, "raw_data", None) else None
        customer_id = id_field.data
        posted = any(getattr(f, "raw_data", None) for f in (id_field, query_field, pick_field))
        if not posted and customer_id in (None, "") and keep_id is not None:
            customer_id = keep_id  # not sent at all (a locked order's disabled fields)
        choice = choose_customer(
            customer_id,
            text,
            pick=pick_field.data,
            keep_id=keep_id,
            include_inactive=include_inactive,
        )
        if choice.customer is not None:
            id_field.data = choice.customer.id
            query_field.data = customer_label(choice.customer)
        else:
            id_field.data = None
            query_field.data = (query_field.data or "").strip()
        pick_field.data = None
        self.customer_choice = choice
        return choice

    def validate_customer_id(self, field: Any) -> None:
        choice = getattr(self, "customer_choice", None)
        if choice is None or choice.error:
            raise ValidationError(choice.error if choice else _l("Välj en kund."))

    @property
    def customer_candidates(self) -> list[tuple[int, str]]:
        choice = getattr(self, "customer_choice", None)
        return [(c.id, customer_label(c)) for c in choice.candidates] if choice else []


class OrderFilterForm(CustomerChoiceMixin, StrippedForm):
    """The order list's search and filters (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    q = StringField(
        _l("Sök"), render_kw={"placeholder": _l("Nummer, kund, text"), "type": "search"}
    )
    kind = SelectField(_l("Ordertyp"), validate_choice=False)
    status = SelectField(_l("Status"), validate_choice=False)
    assigned_user_id = SelectField(_l("Tilldelad"), coerce=optional_int, validate_choice=False)
    subgroup_id = SelectField(_l("Undergrupp"), coerce=optional_int, validate_choice=False)
    fortnox_state = SelectField(_l("Fortnox"), validate_choice=False)


class NewOrderForm(CustomerChoiceMixin, StrippedForm):
    kind = SelectField(
        _l("Ordertyp"),
        choices=select_choices((kind, kind.label) for kind in OrderKind),
        validators=[DataRequired(_l("Välj ordertyp."))],
    )
    facility_id = SelectField(_l("Anläggning"), coerce=optional_int)
    contact_id = SelectField(_l("Kontaktperson"), coerce=optional_int)
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
    technician_id = SelectField(_l("Tekniker"), coerce=optional_int, widget=SharedOptionsSelect())
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
    technician_id = SelectField(_l("Tekniker"), coerce=optional_int, widget=SharedOptionsSelect())
    service_object_id = SelectField(
        _l("Serviceobjekt"), coerce=optional_int, widget=SharedOptionsSelect()
    )
    # Kept from the stored row so an unchanged row keeps its cost centre (which may have been
    # set through the API); a new technician brings their own.
    cost_center = HiddenField()
    original_technician_id = HiddenField()


class ReadingForm(SubForm):
    service_object_id = SelectField(
        _l("Serviceobjekt"),
        coerce=optional_int,
        validators=[DataRequired(_l("Välj ett serviceobjekt."))],
        widget=SharedOptionsSelect(),
    )
    operating_hours = DecimalInput(
        _l("Drifttid (h)"), validators=[Optional(), NumberRange(min=0, message=NON_NEGATIVE)]
    )


class OrderForm(CustomerChoiceMixin, StrippedForm):
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
    # Bounded (app/limits.py): one more than the limit is read, so too many is an error, never
    # a silent cut, and a huge post is never parsed whole.
    actions = FieldList(
        FormField(ActionForm), max_entries=MAX_ACTIONS + 1, validators=[at_most(MAX_ACTIONS)]
    )
    article_rows = FieldList(
        FormField(ArticleRowForm),
        max_entries=MAX_ARTICLE_ROWS + 1,
        validators=[at_most(MAX_ARTICLE_ROWS)],
    )
    service_objects = FieldList(
        FormField(ReadingForm),
        max_entries=MAX_SERVICE_OBJECTS + 1,
        validators=[at_most(MAX_SERVICE_OBJECTS)],
    )
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
    # The order's version when the page was made (optimistic locking, issue #17): a save from
    # a page someone else has saved over since is refused with both versions shown.
    version = HiddenField()
