"""Form pieces every domain's forms use: Swedish-friendly numbers and dates, optional id
selects, sub-forms (rows) whose built-in messages follow the user's language, and the
per-entity custom fields."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.i18n import translations
from wtforms import BooleanField, Field, Form, FormField, PasswordField, StringField
from wtforms.fields import DateField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional
from wtforms.widgets import TextInput

from app.customfields.models import CustomFieldDefinition, CustomFieldEntity, CustomFieldType
from app.customfields.services import definitions_for


def strip_text(value: Any) -> Any:
    """What was typed, without the white space around it (tabs, NEL, non-breaking spaces)."""
    return value.strip() if isinstance(value, str) else value


def _bind_stripped(unbound_field: Any, form: Form, options: dict[str, Any]) -> Field:
    """Every text field strips what was typed before it is validated, so a length or
    "required" check sees what will be stored (issue #17 "Blank values pass"); passwords are
    taken as typed."""
    field_class = unbound_field.field_class
    if issubclass(field_class, StringField) and not issubclass(field_class, PasswordField):
        filters = [strip_text, *unbound_field.kwargs.get("filters", ())]
        options = {**options, "filters": filters}
    return unbound_field.bind(form=form, **options)  # type: ignore[no-any-return]


class StrippedForm(FlaskForm):
    """The base of every page form: a FlaskForm (CSRF) whose text fields strip first."""

    class Meta:
        def bind_field(self, form: Form, unbound_field: Any, options: dict[str, Any]) -> Field:
            return _bind_stripped(unbound_field, form, options)


class SubForm(Form):
    """A row inside a FieldList. Not a FlaskForm (one CSRF token per page is enough), but its
    built-in messages are translated like a FlaskForm's, and its text fields strip first."""

    class Meta:
        def get_translations(self, form: Form) -> Any:
            return translations

        def bind_field(self, form: Form, unbound_field: Any, options: dict[str, Any]) -> Field:
            return _bind_stripped(unbound_field, form, options)


def select_choices(pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """A select's choices from (value, label) pairs (WTForms 3.3 deprecates bare tuples)."""
    return [SelectChoice(value=value, label=label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    """Coerce a select's value: "" (no choice) is None."""
    if value in (None, "", "None"):
        return None
    return int(value)


class DecimalInput(Field):
    """A number typed on a phone: accepts "1,5" and "1.5" and spaces ("1 250"), shows the
    decimal separator of the user's language. `places` fixes the decimals shown (prices)."""

    widget = TextInput()

    def __init__(
        self, label: Any = None, validators: Any = None, places: int | None = None, **kwargs: Any
    ) -> None:
        render_kw = {"inputmode": "decimal", "autocomplete": "off", **kwargs.pop("render_kw", {})}
        super().__init__(label, validators, render_kw=render_kw, **kwargs)
        self.places = places

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        raw = str(valuelist[0]).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
        if raw == "":
            self.data = None
            return
        try:
            value = Decimal(raw)
        except InvalidOperation:
            self.data = None  # type: ignore[assignment]
            raise ValueError(_l("Ange ett tal, t.ex. 1,5.")) from None
        if not value.is_finite():
            self.data = None
            raise ValueError(_l("Ange ett tal, t.ex. 1,5."))
        self.data = value

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if self.data is None:
            return ""
        return format_decimal_input(Decimal(self.data), self.places)


def format_decimal_input(value: Decimal, places: int | None = None) -> str:
    """A decimal as typed in a form: fixed `places` or no trailing zeros, with the user's
    decimal separator."""
    if places is not None:
        text = f"{value:.{places}f}"
    else:
        text = f"{value.normalize():f}" if value != 0 else "0"
    locale = get_locale()
    if locale is not None and locale.language == "sv":
        text = text.replace(".", ",")
    return text


class LocalDateField(DateField):
    """A date input (the phone's date picker) with a message in the user's language."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        super().__init__(label, validators, format="%Y-%m-%d", **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        try:
            self.data = date.fromisoformat(" ".join(valuelist).strip())
        except ValueError:
            self.data = None  # type: ignore[assignment]
            raise ValueError(_l("Ange ett datum som ÅÅÅÅ-MM-DD.")) from None


# --- custom fields ----------------------------------------------------------------------------


def custom_fields_form(entity: CustomFieldEntity) -> type[SubForm]:
    """A sub-form with one field per custom-field definition of `entity`.

    Field names are `cf_<id>` (definition names may hold spaces); `field_names` maps a
    definition's name to its field so service errors ("custom_fields.<name>") find it."""
    definitions = definitions_for(entity)
    attrs: dict[str, Any] = {
        "field_names": {d.name: f"cf_{d.id}" for d in definitions},
        "definitions": definitions,
    }
    for definition in definitions:
        attrs[f"cf_{definition.id}"] = _custom_field(definition)
    return type(f"CustomFields_{entity.value}", (SubForm,), attrs)


def _custom_field(definition: CustomFieldDefinition) -> Any:
    if definition.type == CustomFieldType.BOOLEAN:
        return BooleanField(definition.name)
    render_kw: dict[str, str] = {}
    if definition.type == CustomFieldType.NUMBER:
        render_kw = {"inputmode": "decimal"}
    elif definition.type == CustomFieldType.DATE:
        render_kw = {"type": "date"}
    return StringField(
        definition.name,
        validators=[Optional(), Length(max=2000, message=_l("Högst 2000 tecken."))],
        render_kw=render_kw,
    )


def custom_field_data(form_class: type[SubForm], values: dict[str, Any] | None) -> dict[str, Any]:
    """Initial data for the sub-form from an entity's stored `custom_fields`."""
    values = values or {}
    data: dict[str, Any] = {}
    for definition in form_class.definitions:  # type: ignore[attr-defined]
        value = values.get(definition.name)
        if definition.type == CustomFieldType.BOOLEAN:
            value = value == "ja"
        data[f"cf_{definition.id}"] = value
    return data


def custom_field_values(form: Form) -> dict[str, Any]:
    """{name: value} from the sub-form, as the services take them (empty values are dropped
    there, so clearing a field removes it)."""
    values: dict[str, Any] = {}
    for definition in form.definitions:  # type: ignore[attr-defined]
        value = form[f"cf_{definition.id}"].data
        if definition.type == CustomFieldType.BOOLEAN:
            values[definition.name] = bool(value)
        else:
            values[definition.name] = (value or "").strip() or None
    return values


def with_custom_fields(base: type[Form], entity: CustomFieldEntity) -> type[Form]:
    """`base` plus a `custom_fields` sub-form holding `entity`'s custom fields (none when the
    admin defined none). The sub-form class is kept as `custom_class`."""
    custom_class = custom_fields_form(entity)
    attrs: dict[str, Any] = {"custom_class": custom_class}
    if custom_class.definitions:  # type: ignore[attr-defined]
        attrs["custom_fields"] = FormField(custom_class)
    return type(base.__name__, (base,), attrs)


def at_most(limit: int) -> Any:
    """A FieldList validator: no more than ``limit`` rows (app/limits.py); pair it with
    ``max_entries=limit + 1`` so a huge post is never parsed whole."""
    from flask_babel import lazy_gettext as _l
    from wtforms.validators import ValidationError

    def check(form: Any, field: Any) -> None:
        if len(field.entries) > limit:
            raise ValidationError(_l("Högst %(limit)s rader.", limit=limit))

    return check
